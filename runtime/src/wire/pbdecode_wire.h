/* SPDX-License-Identifier: MIT */
/*
 * The protobuf wire layer of the single-pass decoder (pbdecode.c): reading
 * one tag's value, each deciding byte once through a volatile pointer, and
 * storing a wire value as a scalar field. What a field and a message do with
 * the values is pbdecode.c's.
 */
#ifndef LRPC_PBDECODE_WIRE_H
#define LRPC_PBDECODE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

enum {
	WT_VARINT = PROTOBUF_C_WIRE_TYPE_VARINT,
	WT_64BIT = PROTOBUF_C_WIRE_TYPE_64BIT,
	WT_LEN = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
	WT_32BIT = PROTOBUF_C_WIRE_TYPE_32BIT,
};

/* A value as read from the wire, before a field says what it means. */
struct wval {
	unsigned wt;
	uint64_t u;       /* varint, fixed32, fixed64 */
	bool any;         /* varint: some payload bit is set */
	size_t off, n;    /* length-delimited: the payload */
	/* The bytes read for the value (for a length-delimited one, its
	 * prefix), kept in case it is an unknown field. */
	unsigned nraw;
	uint8_t raw[10];
};

/*
 * Read a varint of at most max bytes at pos, before end, each byte once.
 * \return its length, 0 if it does not end in time; the value (bits past
 * 64 dropped) in *out, the OR of its 7-bit groups in *any, its bytes in raw
 * unless NULL.
 */
static inline unsigned lrpc__pb_read_varint(const volatile uint8_t *in,
					    size_t pos, size_t end,
					    unsigned max, uint64_t *out,
					    unsigned *any, uint8_t *raw)
{
	uint64_t u = 0;
	unsigned bits = 0;

	if (end - pos < max)
		max = (unsigned)(end - pos);
	for (unsigned i = 0; i < max; i++) {
		uint8_t b = in[pos + i];

		if (raw)
			raw[i] = b;
		u |= (uint64_t)(b & 0x7f) << (7 * i);
		bits |= b & 0x7f;
		if (!(b & 0x80)) {
			*out = u;
			*any = bits;
			return i + 1;
		}
	}
	return 0;
}

/* The value after a tag of wire type v->wt at *pos (before end) in in,
 * moving *pos past it. \return false if it does not fit. */
bool lrpc__pb_read_value(const volatile uint8_t *in, size_t *pos, size_t end,
			 struct wval *v);

/* Is a field of type t length-delimited on the wire? */
bool lrpc__pb_is_len_type(ProtobufCType t);

/* Store wire value (wt, u, any) as scalar type t at dst. \return false if
 * the wire type does not fit the type. */
bool lrpc__pb_put_scalar(ProtobufCType t, unsigned wt, uint64_t u, bool any,
			 void *dst);

#endif
