// SPDX-License-Identifier: MIT
/* Protobuf wire writers and reader, and base64, for the JSON codec. */
#include <stdlib.h>
#include <string.h>

#include "pbjson_wire.h"

void pbw_put(struct pbw_buf *b, const void *p, size_t n)
{
	if (b->oom || !n)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		uint8_t *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->d, cap);
		if (!d) {
			b->oom = 1;
			return;
		}
		b->d = d;
		b->cap = cap;
	}
	memcpy(b->d + b->len, p, n);
	b->len += n;
}

void pbw_varint(struct pbw_buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pbw_put(b, t, n);
}

void pbw_tag(struct pbw_buf *b, uint32_t field, unsigned int wire_type)
{
	pbw_varint(b, (uint64_t)field << 3 | wire_type);
}

void pbw_fixed32(struct pbw_buf *b, uint32_t v)
{
	uint8_t t[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	pbw_put(b, t, 4);
}

void pbw_fixed64(struct pbw_buf *b, uint64_t v)
{
	pbw_fixed32(b, (uint32_t)v);
	pbw_fixed32(b, (uint32_t)(v >> 32));
}

void pbw_bytes(struct pbw_buf *b, const void *p, size_t n)
{
	pbw_varint(b, n);
	pbw_put(b, p, n);
}

bool pbw_read_varint(struct pbw_reader *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned int shift = 0; shift < 70; shift += 7) {
		uint8_t c;

		if (r->p >= r->end)
			return false;
		c = *r->p++;
		/* The tenth byte may carry only the top bit of 64. */
		if (shift == 63 && c > 1)
			return false;
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

bool pbw_read_fixed32(struct pbw_reader *r, uint32_t *v)
{
	if (r->end - r->p < 4)
		return false;
	*v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
	     (uint32_t)r->p[3] << 24;
	r->p += 4;
	return true;
}

bool pbw_read_fixed64(struct pbw_reader *r, uint64_t *v)
{
	uint32_t lo, hi;

	if (r->end - r->p < 8 || !pbw_read_fixed32(r, &lo) || !pbw_read_fixed32(r, &hi))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

bool pbw_read_len(struct pbw_reader *r, const uint8_t **p, size_t *n)
{
	uint64_t len;

	if (!pbw_read_varint(r, &len) || len > (uint64_t)(r->end - r->p))
		return false;
	*p = r->p;
	*n = (size_t)len;
	r->p += len;
	return true;
}

bool pbw_skip(struct pbw_reader *r, unsigned int wire_type, uint32_t field,
	      unsigned int depth)
{
	const uint8_t *p;
	uint64_t v;
	uint32_t v32;
	size_t n;

	switch (wire_type) {
	case PBW_VARINT: return pbw_read_varint(r, &v);
	case PBW_I64: return pbw_read_fixed64(r, &v);
	case PBW_LEN: return pbw_read_len(r, &p, &n);
	case PBW_I32: return pbw_read_fixed32(r, &v32);
	case PBW_SGROUP:
		if (depth >= 64)
			return false;
		for (;;) {
			uint64_t tag;

			if (!pbw_read_varint(r, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
				return false;
			if ((tag & 7) == PBW_EGROUP)
				return (tag >> 3) == field;
			if (!pbw_skip(r, tag & 7, (uint32_t)(tag >> 3), depth + 1))
				return false;
		}
	default: return false;
	}
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void pbw_b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int pbw_b64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len)
{
	uint32_t acc = 0;
	size_t o = 0, bits = 0;

	while (n && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(in[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out_len = o;
	return 0;
}
