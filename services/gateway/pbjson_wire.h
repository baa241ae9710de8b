/* SPDX-License-Identifier: MIT */
/*
 * Protobuf wire format for the JSON codec: a growing output buffer, the
 * writers, a bounds-checked reader, and base64 (bytes fields in JSON).
 */
#ifndef LRPC_PBJSON_WIRE_H
#define LRPC_PBJSON_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* descriptor.proto's FieldDescriptorProto.Type values. */
/* (plain ints: they are compared with protobuf-c's enum.) */
#define PBW_DOUBLE 1
#define PBW_FLOAT 2
#define PBW_INT64 3
#define PBW_UINT64 4
#define PBW_INT32 5
#define PBW_FIXED64 6
#define PBW_FIXED32 7
#define PBW_BOOL 8
#define PBW_STRING 9
#define PBW_GROUP 10
#define PBW_MESSAGE 11
#define PBW_BYTES 12
#define PBW_UINT32 13
#define PBW_ENUM 14
#define PBW_SFIXED32 15
#define PBW_SFIXED64 16
#define PBW_SINT32 17
#define PBW_SINT64 18
#define PBW_LABEL_REPEATED 3
/* Wire types. */
enum { PBW_VARINT = 0, PBW_I64 = 1, PBW_LEN = 2, PBW_SGROUP = 3, PBW_EGROUP = 4,
       PBW_I32 = 5 };

/* Zero-initialise; oom is set (and writes stop) when memory runs out.
 * The caller frees d. */
struct pbw_buf {
	uint8_t *d;
	size_t len, cap;
	int oom;
};

void pbw_put(struct pbw_buf *b, const void *p, size_t n);
void pbw_varint(struct pbw_buf *b, uint64_t v);
void pbw_tag(struct pbw_buf *b, uint32_t field, unsigned int wire_type);
void pbw_fixed32(struct pbw_buf *b, uint32_t v);
void pbw_fixed64(struct pbw_buf *b, uint64_t v);
/* A length-delimited value: the length, then the bytes. */
void pbw_bytes(struct pbw_buf *b, const void *p, size_t n);
static inline uint64_t pbw_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* A reader over [p, end): each call returns false, reading nothing
 * more, when the input is cut short or malformed. */
struct pbw_reader {
	const uint8_t *p, *end;
};
/* A reader over \p n bytes at \p p; an empty input may be NULL (an
 * empty encoding is, and NULL + 0 is undefined in C). */
static inline struct pbw_reader pbw_reader_of(const uint8_t *p, size_t n)
{
	return (struct pbw_reader){ p, p ? p + n : p };
}
bool pbw_read_varint(struct pbw_reader *r, uint64_t *v);
bool pbw_read_fixed32(struct pbw_reader *r, uint32_t *v);
bool pbw_read_fixed64(struct pbw_reader *r, uint64_t *v);
/* A length-delimited value: *p and *n point into the input. */
bool pbw_read_len(struct pbw_reader *r, const uint8_t **p, size_t *n);
/* Skips a value of \p wire_type (groups included, nested at most 64). */
bool pbw_skip(struct pbw_reader *r, unsigned int wire_type, uint32_t field,
	      unsigned int depth);

/* Standard base64 with padding; \p out has room for 4 * ceil(n / 3) + 1
 * bytes and ends NUL-terminated. */
void pbw_b64_encode(const uint8_t *in, size_t n, char *out);
/* Standard or URL-safe base64, padding optional; \p out has room for
 * n / 4 * 3 + 3 bytes. \return 0, or -1 if \p in is not base64. */
int pbw_b64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len);

#endif
