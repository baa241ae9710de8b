// SPDX-License-Identifier: MIT
/* grpc-message's percent-encoding (PROTOCOL-HTTP2.md, Status-Message). */
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
