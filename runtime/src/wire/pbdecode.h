/* SPDX-License-Identifier: MIT */
/*
 * A protobuf decoder for input in shared memory. protobuf_c_message_unpack()
 * reads its input twice (once to count and size, once to parse), so a peer
 * that rewrites the bytes in between can make the two passes disagree; this
 * one reads every byte once and decides only from what it has read.
 */
#ifndef LRPC_PBDECODE_H
#define LRPC_PBDECODE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Sub-messages nested deeper than this below the top-level message are
 * rejected: the decoder recurses, and the input must not choose how far. */
#define LRPC__PB_MAX_DEPTH 100

/*
 * Decode len bytes at data as a message of type desc, reading every byte of
 * the input at most once, so data may be memory another process writes
 * concurrently: whatever it writes, the decoder stays within [data,
 * data + len), allocates no more than the input accounts for, and returns
 * either NULL or a well-formed message (the content of bytes and string
 * fields is copied as it is at that moment). The result is owned by the
 * caller, allocated with alloc (NULL: malloc/free) piece by piece like
 * protobuf_c_message_unpack(), so protobuf_c_message_free_unpacked(msg,
 * alloc) releases it.
 *
 * It accepts what protobuf-c 1.4.1 accepts, with these exceptions (see
 * pbdecode.c): a tag of field number 0 in a multi-byte encoding, a bool sent
 * with a wire type other than varint, and nesting beyond LRPC__PB_MAX_DEPTH
 * are rejected; a singular sub-message sent more than once is merged as the
 * protobuf encoding rules say (protobuf-c loses some of its fields, or fails
 * when its type has a oneof left unset).
 *
 * \return the message, or NULL (malformed input, missing required field, too
 * deep, out of memory); on NULL nothing is leaked.
 */
/* The bytes one value of type t takes in a message struct or array. */
size_t lrpc__pb_elt_size(ProtobufCType t);

ProtobufCMessage *lrpc__pb_decode(const ProtobufCMessageDescriptor *desc,
				  ProtobufCAllocator *alloc, size_t len,
				  const uint8_t *data);

#endif
