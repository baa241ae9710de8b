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
 *   3  base64 (-bin metadata): the rest encodes to base64 that decodes
 *      back exactly, and as base64 input decodes (in place, too) to at
 *      most 3/4 of its length or is refused.
 *   4  metadata: the rest is header pairs (1-byte name length, name,
 *      1-byte value length, value) as a request's headers bring them.
 *      What the handler would see is exactly the pairs whose names are
 *      valid, unreserved keys and whose values hold no NUL, in order,
 *      within LRPC_METADATA_MAX (past it, the whole set is refused),
 *      binary values decoded.
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

static void base64(const uint8_t *p, size_t n)
{
	char *enc = malloc(4 * (n / 3 + 1));
	unsigned char *dec = malloc(n + 1), *in = malloc(n + 1);
	size_t e;
	ssize_t d, d2;

	if (!enc || !dec || !in)
		fz_die("out of memory");
	e = fz_grpc_b64_encode(p, n, enc);
	if (e != (4 * n + 2) / 3)
		fz_die("base64: %zu bytes encode to %zu", n, e);
	d = fz_grpc_b64_decode(enc, e, dec);
	if (d != (ssize_t)n || memcmp(dec, p, n))
		fz_die("base64: does not decode back");
	d = fz_grpc_b64_decode((const char *)p, n, dec);
	if (d >= 0 && (size_t)d > n * 3 / 4)
		fz_die("base64: %zu bytes decode to %zd", n, d);
	memcpy(in, p, n);
	d2 = fz_grpc_b64_decode((const char *)in, n, in);
	if (d2 != d || (d > 0 && memcmp(in, dec, (size_t)d)))
		fz_die("base64: in place differs");
	free(enc);
	free(dec);
	free(in);
}

/* The key rules, read slowly. */
static bool md_key_ok(const uint8_t *k, size_t n)
{
	static const char *const reserved[] = {
		"content-type", "te", "connection", "host", "keep-alive",
		"proxy-connection", "transfer-encoding", "upgrade",
	};

	if (n == 0 || (n >= 5 && !memcmp(k, "grpc-", 5)))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefghijklmnopqrstuvwxyz_.-", k[i]) || !k[i])
			return false;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (n == strlen(reserved[i]) && !memcmp(k, reserved[i], n))
			return false;
	return true;
}

static void metadata(const uint8_t *p, size_t n)
{
	struct { const uint8_t *k, *v; size_t kl, vl; } want[256];
	size_t nwant = 0, bytes = 0, i = 0;
	bool too_big = false;
	struct fz_md *m = fz_md_new();
	const char *bad = NULL;
	int r;

	if (!m)
		fz_die("out of memory");
	while (i < n && nwant < 256) {
		size_t kl = p[i++], vl;
		const uint8_t *k = p + i, *v;

		if (kl > n - i)
			break;
		i += kl;
		if (i >= n)
			break;
		vl = p[i++];
		if (vl > n - i)
			break;
		v = p + i;
		i += vl;
		if (fz_md_add(m, k, kl, v, vl) < 0)
			fz_die("metadata: add failed");
		if (!md_key_ok(k, kl) || memchr(v, 0, vl) || too_big)
			continue;
		if (bytes + kl + vl + 32 > fz_md_max) {
			too_big = true;
			continue;
		}
		bytes += kl + vl + 32;
		want[nwant].k = k, want[nwant].kl = kl;
		want[nwant].v = v, want[nwant].vl = vl;
		nwant++;
	}
	r = fz_md_finish(m, &bad);
	if (too_big != (r == -7 /* -E2BIG */))
		fz_die("metadata: finish says %d, the limit says %d", r, too_big);
	if (r == 0 && fz_md_count(m) != nwant)
		fz_die("metadata: %zu entries, not %zu", fz_md_count(m), nwant);
	for (size_t j = 0; r == 0 && j < nwant; j++) {
		const char *key;
		const void *val;
		size_t len;
		bool bin = want[j].kl > 4 && !memcmp(want[j].k + want[j].kl - 4, "-bin", 4);
		unsigned char dec[256];
		ssize_t d = bin ? fz_grpc_b64_decode((const char *)want[j].v, want[j].vl, dec) : 0;

		fz_md_at(m, j, &key, &val, &len);
		if (strlen(key) != want[j].kl || memcmp(key, want[j].k, want[j].kl))
			fz_die("metadata: entry %zu has another key", j);
		if (!bin && (len != want[j].vl || memcmp(val, want[j].v, len)))
			fz_die("metadata: entry %zu has another value", j);
		if (bin && (d < 0 || len != (size_t)d || memcmp(val, dec, len)))
			fz_die("metadata: entry %zu is not its value decoded", j);
	}
	if (r == -22 /* -EINVAL */ && !bad)
		fz_die("metadata: refused without naming the key");
	fz_md_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		timeout(data + 1, size - 1);
		break;
	case 1:
		message(data + 1, size - 1);
		break;
	case 2:
		messages(data + 1, size - 1);
		break;
	case 3:
		base64(data + 1, size - 1);
		break;
	default:
		metadata(data + 1, size - 1);
		break;
	}
	return 0;
}
