// SPDX-License-Identifier: MIT
/*
 * gRPC's wire pieces (runtime/src/wire/grpc.h). The first byte picks:
 *   0  grpc-timeout: the rest is a header value. It parses only as 1-8
 *      digits and a unit (checked against a slow reading here), and a
 *      parsed timeout formats to one that parses to no less, within one
 *      of the formatted unit.
 *   1  grpc-message: the rest is a status message. Encoding gives only
 *      0x20..0x7e, decodes back to it exactly, and never overruns a short
 *      buffer; decoding any bytes never overruns either.
 *   2  messages: the second byte's low bits set max (0..255 or 64 KiB);
 *      the rest is a byte stream cut into pushes at points the stream's
 *      own bytes choose. Whatever the cuts, the messages taken agree with
 *      one reading of the whole stream, and what stays is what the
 *      reading leaves.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int64_t unit_ns(char u)
{
	switch (u) {
	case 'H': return 3600000000000ll;
	case 'M': return 60000000000ll;
	case 'S': return 1000000000ll;
	case 'm': return 1000000ll;
	case 'u': return 1000ll;
	case 'n': return 1ll;
	default: return 0;
	}
}

static void timeout(const uint8_t *p, size_t n)
{
	int64_t ns, again, unit;
	bool ok = n >= 2 && n <= 9 && unit_ns((char)p[n - 1]);
	char out[10];
	size_t len;

	for (size_t i = 0; ok && i + 1 < n; i++)
		ok = p[i] >= '0' && p[i] <= '9';
	if ((fz_grpc_timeout_parse((const char *)p, n, &ns) == 0) != ok)
		fz_die("grpc-timeout: parse disagrees on %zu bytes", n);
	if (!ok)
		return;
	if (ns < 0)
		fz_die("grpc-timeout: negative");
	len = fz_grpc_timeout_format(ns, out);
	if (len < 2 || len > 9 || fz_grpc_timeout_parse(out, len, &again) != 0)
		fz_die("grpc-timeout: formatted %lld does not parse", (long long)ns);
	unit = unit_ns(out[len - 1]);
	if (again < ns && ns != INT64_MAX && !(again == 99999999 * unit))
		fz_die("grpc-timeout: %lld formats to less", (long long)ns);
	if (ns > 0 && again - ns >= unit)
		fz_die("grpc-timeout: %lld formats to %lld", (long long)ns,
		       (long long)again);
}

static void message(const uint8_t *p, size_t n)
{
	char *enc = malloc(3 * n + 1), *dec = malloc(n + 1), small[7];
	size_t e, d;

	if (!enc || !dec)
		fz_die("out of memory");
	e = fz_grpc_pct_encode((const char *)p, n, enc, 3 * n);
	for (size_t i = 0; i < e; i++)
		if (enc[i] < 0x20 || enc[i] > 0x7e)
			fz_die("grpc-message: encoded byte 0x%02x", (unsigned char)enc[i]);
	d = fz_grpc_pct_decode(enc, e, dec, n);
	if (d != n || memcmp(dec, p, n))
		fz_die("grpc-message: does not decode back");
	/* Short buffers: whole sequences only, never past the end. */
	e = fz_grpc_pct_encode((const char *)p, n, small, sizeof(small));
	if (e > sizeof(small) || (e && small[e - 1] == '%'))
		fz_die("grpc-message: a cut encoding");
	fz_grpc_pct_decode((const char *)p, n, small, sizeof(small));
	free(enc);
	free(dec);
}

/* One reading of the whole stream: where its messages end. */
static void messages(const uint8_t *p, size_t n)
{
	size_t max, off = 0, cut = 0, got = 0;
	struct fz_msgq *q;
	const unsigned char *m;
	size_t len;
	int r;

	if (n < 1)
		return;
	max = (p[0] & 1) ? 65536 : p[0] >> 1;
	p++, n--;
	q = fz_msgq_new(max);
	if (!q)
		fz_die("out of memory");
	while (cut < n) {
		/* The next push: 1 + (byte at cut) % 64 bytes. */
		size_t step = 1 + p[cut] % 64;

		if (step > n - cut)
			step = n - cut;
		if (fz_msgq_push(q, p + cut, step))
			fz_die("push failed");
		cut += step;
		while ((r = fz_msgq_next(q, &m, &len)) == 1) {
			size_t want = (size_t)p[off + 1] << 24 | (size_t)p[off + 2] << 16 |
				      (size_t)p[off + 3] << 8 | p[off + 4];

			if (p[off] != 0 || want > max || len != want ||
			    memcmp(m, p + off + fz_grpc_prefix, len))
				fz_die("msgq: message %zu is not the stream's", got);
			off += fz_grpc_prefix + len;
			got++;
			fz_msgq_pop(q);
		}
		if (fz_msgq_len(q) != cut - off)
			fz_die("msgq: holds %zu, not %zu", fz_msgq_len(q), cut - off);
		if (r < 0) {
			bool big = p[off] == 0 && len > max;

			if (cut - off < fz_grpc_prefix || (r == -1) != big ||
			    (r == -2) != (p[off] != 0))
				fz_die("msgq: wrong error %d", r);
			break;
		}
	}
	fz_msgq_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		timeout(data + 1, size - 1);
		break;
	case 1:
		message(data + 1, size - 1);
		break;
	default:
		messages(data + 1, size - 1);
		break;
	}
	return 0;
}
