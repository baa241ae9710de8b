// SPDX-License-Identifier: MIT
/*
 * The protobuf decoder, lrpc__pb_decode(). The first byte picks the message
 * type (test_pbdecode's schema), the rest is the encoding. Invariants:
 *  - it accepts and rejects what protobuf-c 1.4.1 does, but for the
 *    differences pbdecode.h documents (found by pbt_quirks()) and the
 *    memory budget, which it reports as E2BIG;
 *  - it asks for no more memory than lrpc__pb_budget() and frees all of it;
 *  - what it accepts packs to bytes that it and protobuf-c decode again and
 *    pack the same (a round trip), and, where no sub-message is merged,
 *    the same bytes protobuf-c's own decoding packs to;
 *  - without LRPC__PB_KEEP_UNKNOWN, into an arena as the server decodes: the
 *    same verdict, no unknown field left, and a round trip of its own.
 * The includes of runtime/src are the two below.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "wire/pbdecode.h"

#include "fuzz.h"
#include "pbcheck.h"
#include "pbdecode_test.pb-c.h"

static const ProtobufCMessageDescriptor *const descs[] = {
	&lrpc_pbt__p2__descriptor, &lrpc_pbt__p3__descriptor,
	&lrpc_pbt__node__descriptor, &lrpc_pbt__leaf__descriptor,
	&lrpc_pbt__req__descriptor,
};

/* malloc with a count of what is live and what the budget charges. */
struct counting {
	ProtobufCAllocator pb;
	long live;
	size_t charged;
};

static void *c_alloc(void *data, size_t size)
{
	struct counting *c = data;
	void *p = malloc(size ? size : 1);

	if (p) {
		c->live++;
		c->charged += size ? (size + 15) & ~(size_t)15 : 16;
	}
	return p;
}

static void c_free(void *data, void *ptr)
{
	struct counting *c = data;

	c->live--;
	free(ptr);
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		fz_die("out of memory");
	*len = protobuf_c_message_pack(m, p);
	if (*len != n)
		fz_die("packed %zu bytes of %zu", *len, n);
	return p;
}

static bool same(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	return la == lb && !memcmp(a, b, la);
}

/* m packs to bytes that decode (with flags) and pack again the same, and
 * that protobuf-c decodes and packs the same too. The budget is the one
 * exception: m took \p charged bytes to decode, and if its packing is so
 * much shorter than that input (fields given again and again, merged) that
 * its budget is below what m needs, refusing it with E2BIG is the rule
 * applied, not a failure to read our own bytes. */
static void round_trip(const ProtobufCMessageDescriptor *desc,
		       const ProtobufCMessage *m, unsigned flags, size_t charged)
{
	size_t n, n2, n3;
	uint8_t *p = pack(m, &n), *p2, *p3;
	ProtobufCMessage *again = lrpc__pb_decode_flags(desc, NULL, n, p, flags);
	ProtobufCMessage *theirs = protobuf_c_message_unpack(desc, NULL, n, p);

	if (!again && errno == E2BIG && charged > lrpc__pb_budget(n)) {
		free(p);
		if (theirs)
			protobuf_c_message_free_unpacked(theirs, NULL);
		return;
	}
	if (!again)
		fz_die("%s: our own packing does not decode (errno %d)",
		       desc->name, errno);
	if (!theirs)
		fz_die("%s: protobuf-c rejects our packing", desc->name);
	p2 = pack(again, &n2);
	p3 = pack(theirs, &n3);
	if (!same(p, n, p2, n2))
		fz_die("%s: decode-pack-decode-pack differs", desc->name);
	if (!same(p, n, p3, n3))
		fz_die("%s: protobuf-c packs our packing differently", desc->name);
	free(p);
	free(p2);
	free(p3);
	protobuf_c_message_free_unpacked(again, NULL);
	protobuf_c_message_free_unpacked(theirs, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage *a, *b, *d;
	struct counting c = { { c_alloc, c_free, &c }, 0, 0 };
	struct lrpc__arena arena;
	const uint8_t *in;
	bool accepted;
	unsigned q;
	size_t n;
	int err;

	if (!size)
		return 0;
	desc = descs[data[0] % (sizeof(descs) / sizeof(descs[0]))];
	in = data + 1;
	n = size - 1;
	q = pbt_quirks(desc, in, n, 0);

	a = protobuf_c_message_unpack(desc, NULL, n, in);
	errno = 0;
	b = lrpc__pb_decode_flags(desc, &c.pb, n, in, LRPC__PB_KEEP_UNKNOWN);
	err = errno;
	if (c.charged > lrpc__pb_budget(n))
		fz_die("%s: %zu bytes allocated for %zu of input, over the "
		       "budget", desc->name, c.charged, n);
	if (!b && err != EBADMSG && err != E2BIG)
		fz_die("%s: rejected with errno %d", desc->name, err);
	if (a && !b && !(q & Q_STRICTER) && err != E2BIG)
		fz_die("%s: we reject what protobuf-c accepts", desc->name);
	if (!a && b && !(q & Q_LAXER))
		fz_die("%s: we accept what protobuf-c rejects", desc->name);
	if (b)
		round_trip(desc, b, LRPC__PB_KEEP_UNKNOWN, c.charged);
	if (a && b && !(q & Q_DUPMSG)) {
		size_t la, lb;
		uint8_t *pa = pack(a, &la), *pb = pack(b, &lb);

		if (!same(pa, la, pb, lb))
			fz_die("%s: we and protobuf-c decode differently",
			       desc->name);
		free(pa);
		free(pb);
	}
	accepted = b;
	protobuf_c_message_free_unpacked(a, NULL);
	protobuf_c_message_free_unpacked(b, &c.pb);
	if (c.live)
		fz_die("%s: %ld allocations not freed", desc->name, c.live);

	lrpc__arena_init(&arena);
	d = lrpc__pb_decode(desc, &arena.pb, n, in);
	if (accepted && !d)
		fz_die("%s: rejected once unknown fields are dropped",
		       desc->name);
	if (!accepted && err != E2BIG && d)
		fz_die("%s: accepted once unknown fields are dropped",
		       desc->name);
	if (d) {
		struct counting c2 = { { c_alloc, c_free, &c2 }, 0, 0 };
		ProtobufCMessage *e = lrpc__pb_decode(desc, &c2.pb, n, in);

		if (!pbt_no_unknown(d))
			fz_die("%s: an unknown field was kept", desc->name);
		/* What d took, through an allocator that counts. */
		if (!e)
			fz_die("%s: decodes into an arena only", desc->name);
		round_trip(desc, d, 0, c2.charged);
		protobuf_c_message_free_unpacked(e, &c2.pb);
	}
	lrpc__arena_destroy(&arena);
	return 0;
}
