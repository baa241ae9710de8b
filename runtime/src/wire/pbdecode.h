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
 * Decode-time memory is bounded by the input's length: decoding len bytes
 * asks the allocator for at most lrpc__pb_budget(len) =
 * LRPC__PB_MEM_PER_BYTE * len + LRPC__PB_MEM_BASE bytes in all, each request
 * counted rounded up to LRPC__PB_ALLOC_UNIT and nothing refunded when freed
 * (an arena's free does nothing). A message that needs more is refused.
 * Ordinary messages stay far below it: bytes and strings cost about their
 * length, dense lists of scalars at most 16 bytes per byte (arrays double,
 * and an arena frees nothing). Long lists of sub-messages whose encodings
 * are much smaller than their structs (each costs its whole struct), or of
 * empty strings or bytes, can exceed it and are refused. Unknown fields are
 * skipped unless asked for, so they cost nothing. For a server with the default 4 MiB message limit this
 * is 64 MiB + 64 KiB per call at most; a per-call arena holds up to twice
 * what it was asked for in the worst case (a request that does not fit the
 * rest of a 16 KiB chunk starts a new one), and malloc its own overhead.
 */
#define LRPC__PB_MEM_PER_BYTE 16u
#define LRPC__PB_MEM_BASE ((size_t)64 << 10)
#define LRPC__PB_ALLOC_UNIT 16u

/* The memory budget of decoding len bytes (SIZE_MAX if it overflows). */
size_t lrpc__pb_budget(size_t len);

/* The bytes one value of type t takes in a message struct or array. */
size_t lrpc__pb_elt_size(ProtobufCType t);

/* Keep unknown fields (tag, wire type and raw bytes, in order), so that
 * packing the message reproduces them; they count against the budget, at
 * 16 bytes for the data and 24 for the entry (more while the array grows). */
#define LRPC__PB_KEEP_UNKNOWN 1u

/*
 * Decode len bytes at data as a message of type desc, reading every byte of
 * the input at most once, so data may be memory another process writes
 * concurrently: whatever it writes, the decoder stays within [data,
 * data + len), allocates no more than lrpc__pb_budget(len), and returns
 * either NULL or a well-formed message (the content of bytes and string
 * fields is copied as it is at that moment). The result is owned by the
 * caller, allocated with alloc (NULL: malloc/free) piece by piece like
 * protobuf_c_message_unpack(), so protobuf_c_message_free_unpacked(msg,
 * alloc) releases it.
 *
 * It accepts what protobuf-c 1.4.1 accepts, with these exceptions (see
 * pbdecode.c): a tag of field number 0 in a multi-byte encoding, a bool sent
 * with a wire type other than varint, nesting beyond LRPC__PB_MAX_DEPTH and
 * a message over the memory budget are rejected; a singular sub-message
 * sent more than once is merged as the protobuf encoding rules say
 * (protobuf-c loses some of its fields, or fails when its type has a oneof
 * left unset). Unknown fields are checked like protobuf-c checks them (wire
 * types 0, 1, 2, 5, lengths within the input) and then dropped: the message
 * has n_unknown_fields == 0 at every level, and packing it does not
 * reproduce them, unless flags has LRPC__PB_KEEP_UNKNOWN.
 *
 * \return the message, or NULL with errno EBADMSG (malformed input, missing
 * required field, too deep), E2BIG (over the memory budget), ENOMEM (the
 * allocator failed) or EINVAL (data NULL with len > 0); on NULL nothing is
 * leaked.
 */
ProtobufCMessage *lrpc__pb_decode_flags(const ProtobufCMessageDescriptor *desc,
					ProtobufCAllocator *alloc, size_t len,
					const uint8_t *data, unsigned flags);

/* lrpc__pb_decode_flags() with no flags: unknown fields are dropped. */
ProtobufCMessage *lrpc__pb_decode(const ProtobufCMessageDescriptor *desc,
				  ProtobufCAllocator *alloc, size_t len,
				  const uint8_t *data);

#endif
