// SPDX-License-Identifier: MIT
/*
 * gRPC's two text encodings (PROTOCOL-HTTP2.md): grpc-message's
 * percent-encoding (Status-Message) and the base64 of binary ("-bin")
 * metadata values.
 */
#include <errno.h>

#include "wire/grpc.h"

static const char hex[] = "0123456789ABCDEF";

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t lrpc__grpc_pct_encode(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x20 && c <= 0x7e && c != '%') {
			if (o + 1 > cap)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 3 > cap)
				break;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	return o;
}

size_t lrpc__grpc_pct_decode(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o < cap; i++) {
		int hi, lo;

		if (in[i] == '%' && i + 2 < len && (hi = unhex(in[i + 1])) >= 0 &&
		    (lo = unhex(in[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	return o;
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t lrpc__grpc_b64_encode(const void *in, size_t len, char *out)
{
	const unsigned char *p = in;
	size_t o = 0, i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (len - i == 1) {
		out[o++] = b64[p[i] >> 2];
		out[o++] = b64[(p[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];

		out[o++] = b64[v >> 10];
		out[o++] = b64[(v >> 4) & 63];
		out[o++] = b64[(v & 15) << 2];
	}
	return o;
}

static int unb64(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ssize_t lrpc__grpc_b64_decode(const char *in, size_t len, unsigned char *out)
{
	uint32_t acc = 0;
	size_t o = 0, bits = 0;

	/* Padding: up to two '=' at the end, only where they belong. */
	if (len % 4 == 0 && len && in[len - 1] == '=')
		len -= len >= 2 && in[len - 2] == '=' ? 2 : 1;
	if (len % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int v = unb64(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			/* in[i] has been read: out may be in (decoding in place). */
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Bits left over (non-zero in a non-canonical encoding) are dropped. */
	return (ssize_t)o;
}
