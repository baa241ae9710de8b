// SPDX-License-Identifier: MIT
/*
 * lrpc__pb_decode(), the single-pass decoder for shared memory, against
 * protobuf-c's own protobuf_c_message_unpack(): random messages, mutated
 * encodings, a buffer rewritten while it is decoded, and cases by hand.
 * Everything random comes from fixed seeds.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/internal.h"
#include "wire/pbdecode.h"
#include "pbdecode_test.pb-c.h"
#include "pbcheck.h"
#include "check_main.h"

/* Most of what follows compares with protobuf-c, which keeps unknown
 * fields: so do we, there. */
static ProtobufCMessage *decode_keep(const ProtobufCMessageDescriptor *desc,
				     ProtobufCAllocator *alloc, size_t len,
				     const uint8_t *data)
{
	return lrpc__pb_decode_flags(desc, alloc, len, data,
				     LRPC__PB_KEEP_UNKNOWN);
}

/* ---- randomness ---- */

static uint64_t rng;

/* How big random messages get. */
static int gen_maxdepth;
static size_t gen_maxrep;

/* Cases where we and protobuf-c disagreed (as documented). */
static long n_stricter, n_laxer;

/* Every test that uses randomness starts here, the same way whether or not
 * Check runs it in a process of its own. */
static void seed(uint64_t s)
{
	rng = s * 0x9e3779b97f4a7c15ull + 1;
	gen_maxdepth = 3;
	gen_maxrep = 4;
	n_stricter = n_laxer = 0;
}

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* Random, of random magnitude (the calls in sequence, for the same numbers
 * from every compiler). */
static uint64_t rnd_mag(void)
{
	unsigned shift = (unsigned)below(64);

	return rnd() >> shift;
}

/* Values that like the edges of their ranges. */
static uint64_t rnd64(void)
{
	switch (below(10)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return UINT64_MAX;
	case 3:
		return (uint64_t)INT64_MIN;
	case 4:
		return (uint64_t)INT32_MIN;
	case 5:
		return below(300);
	case 6:
		return rnd_mag();
	default:
		return rnd();
	}
}

static uint32_t rnd32(void)
{
	switch (below(8)) {
	case 0:
		return UINT32_MAX;
	case 1:
		return (uint32_t)INT32_MIN;
	case 2:
		return (uint32_t)INT32_MAX;
	default:
		return (uint32_t)rnd64();
	}
}

/* ---- allocators ---- */

/* malloc behind a count of everything, to see leaks, sizes and how many
 * allocations a decode takes; fail_at makes one allocation fail. */
struct counting {
	ProtobufCAllocator pb;
	long live, total, fail_at;
	size_t max_size, bytes;
};

static void *c_alloc(void *data, size_t size)
{
	struct counting *c = data;
	void *p;

	if (c->fail_at >= 0 && c->total == c->fail_at) {
		c->total++;
		return NULL;
	}
	p = malloc(size ? size : 1);
	if (!p)
		return NULL;
	c->total++;
	c->live++;
	c->bytes += size;
	if (size > c->max_size)
		c->max_size = size;
	return p;
}

static void c_free(void *data, void *ptr)
{
	struct counting *c = data;

	c->live--;
	free(ptr);
}

static void counting_init(struct counting *c)
{
	memset(c, 0, sizeof(*c));
	c->pb.alloc = c_alloc;
	c->pb.free = c_free;
	c->pb.allocator_data = c;
	c->fail_at = -1;
}

/* ---- random messages, built with malloc for free_unpacked(m, NULL) ---- */

static ProtobufCMessage *gen_msg(const ProtobufCMessageDescriptor *desc,
				 int depth);

/* A random value of field f's type into slot. \return false for a
 * sub-message not made because it would be too deep. */
static bool gen_value(const ProtobufCFieldDescriptor *f, void *slot,
		      int depth)
{
	uint32_t u32 = rnd32();
	uint64_t u64 = rnd64();
	protobuf_c_boolean b = (protobuf_c_boolean)(rnd() & 1);
	ProtobufCBinaryData bd;
	ProtobufCMessage *sm;
	size_t n;
	char *s;

	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		memcpy(slot, &b, sizeof(b));
		return true;
	case PROTOBUF_C_TYPE_STRING:
		n = below(8) ? below(12) : below(300);
		s = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			s[i] = (char)(' ' + below(95));
		s[n] = 0;
		memcpy(slot, &s, sizeof(s));
		return true;
	case PROTOBUF_C_TYPE_BYTES:
		bd.len = below(8) ? below(16) : below(500);
		bd.data = bd.len ? malloc(bd.len) : NULL;
		for (size_t i = 0; i < bd.len; i++)
			bd.data[i] = (uint8_t)rnd();
		memcpy(slot, &bd, sizeof(bd));
		return true;
	case PROTOBUF_C_TYPE_MESSAGE:
		if (depth >= gen_maxdepth)
			return false;
		sm = gen_msg(f->descriptor, depth + 1);
		memcpy(slot, &sm, sizeof(sm));
		return true;
	default:
		if (lrpc__pb_elt_size(f->type) == 8)
			memcpy(slot, &u64, 8);
		else
			memcpy(slot, &u32, 4);
		return true;
	}
}

/* Raw unknown fields, non-canonical varints included. */
static void gen_unknown(ProtobufCMessage *m)
{
	static const uint32_t tags[] = { 999, 1000, 4095, 123456,
					 536870911, 536870912, 4294967295u };
	unsigned n = 1 + (unsigned)below(3);

	m->unknown_fields = malloc(n * sizeof(*m->unknown_fields));
	m->n_unknown_fields = n;
	for (unsigned i = 0; i < n; i++) {
		ProtobufCMessageUnknownField *uf = &m->unknown_fields[i];
		uint8_t buf[600];
		size_t len = 0, plen;
		uint64_t v;

		do
			uf->tag = tags[below(sizeof(tags) / sizeof(tags[0]))];
		while (protobuf_c_message_descriptor_get_field(m->descriptor,
							       uf->tag));
		switch (below(4)) {
		case 0:
			uf->wire_type = PROTOBUF_C_WIRE_TYPE_VARINT;
			v = rnd64();
			do {
				buf[len++] = (uint8_t)(v & 0x7f) | 0x80;
				v >>= 7;
			} while (v);
			/* Sometimes padded with zero groups, up to 10. */
			while (len < 10 && below(4) == 0)
				buf[len++] = 0x80;
			buf[len - 1] &= 0x7f;
			break;
		case 1:
			uf->wire_type = PROTOBUF_C_WIRE_TYPE_64BIT;
			for (; len < 8; len++)
				buf[len] = (uint8_t)rnd();
			break;
		case 2:
			uf->wire_type = PROTOBUF_C_WIRE_TYPE_32BIT;
			for (; len < 4; len++)
				buf[len] = (uint8_t)rnd();
			break;
		default:
			uf->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
			plen = below(300);
			v = plen;
			do {
				buf[len++] = (uint8_t)(v & 0x7f) | 0x80;
				v >>= 7;
			} while (v);
			buf[len - 1] &= 0x7f;
			for (size_t j = 0; j < plen; j++)
				buf[len++] = (uint8_t)rnd();
			break;
		}
		uf->len = len;
		uf->data = malloc(len);
		memcpy(uf->data, buf, len);
	}
}

static ProtobufCMessage *gen_msg(const ProtobufCMessageDescriptor *desc,
				 int depth)
{
	ProtobufCMessage *m = calloc(1, desc->sizeof_message);

	desc->message_init(m);
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		char *member = (char *)m + f->offset;
		char *quant = (char *)m + f->quantifier_offset;
		protobuf_c_boolean one = 1;
		size_t n, sz, k;
		char *arr;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			continue;
		switch (f->label) {
		case PROTOBUF_C_LABEL_REQUIRED:
			if (f->default_value && below(2))
				break;
			gen_value(f, member, depth);
			break;
		case PROTOBUF_C_LABEL_OPTIONAL:
		case PROTOBUF_C_LABEL_NONE:
			if (below(2))
				break;
			if (gen_value(f, member, depth) && f->quantifier_offset)
				memcpy(quant, &one, sizeof(one));
			break;
		case PROTOBUF_C_LABEL_REPEATED:
			if (below(3) == 0)
				break;
			n = below(10) ? below(gen_maxrep + 1) :
					below(8 * gen_maxrep);
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (depth >= gen_maxdepth)
					break;
				n = n > 3 ? 3 : n;
			}
			if (!n)
				break;
			sz = lrpc__pb_elt_size(f->type);
			arr = malloc(n * sz);
			for (k = 0; k < n; k++)
				gen_value(f, arr + k * sz, depth);
			memcpy(member, &arr, sizeof(arr));
			memcpy(quant, &n, sizeof(n));
			break;
		}
	}
	/* One member (or none) per oneof: members share quantifier_offset. */
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i], *g;
		unsigned nmemb = 0, j;
		uint32_t c;

		if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			continue;
		for (j = 0; j < i; j++)
			if ((desc->fields[j].flags &
			     PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    desc->fields[j].quantifier_offset ==
				    f->quantifier_offset)
				break;
		if (j < i || below(3) == 0)
			continue; /* not the group's first, or left unset */
		for (j = i; j < desc->n_fields; j++)
			if (desc->fields[j].quantifier_offset ==
			    f->quantifier_offset)
				nmemb++;
		g = f + below(nmemb); /* members are consecutive here */
		ck_assert_uint_eq(g->quantifier_offset, f->quantifier_offset);
		if (gen_value(g, (char *)m + g->offset, depth)) {
			c = g->id;
			memcpy((char *)m + g->quantifier_offset, &c, 4);
		}
	}
	if (below(5) == 0)
		gen_unknown(m);
	return m;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len ? *len : 1);
	ck_assert_uint_eq(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

static void assert_same_bytes(const uint8_t *a, size_t la, const uint8_t *b,
			      size_t lb)
{
	ck_assert_uint_eq(la, lb);
	ck_assert(memcmp(a, b, la) == 0);
}

static void assert_packs_to(const ProtobufCMessage *m, const uint8_t *want,
			    size_t len)
{
	size_t n;
	uint8_t *got = pack(m, &n);

	assert_same_bytes(got, n, want, len);
	free(got);
}

static const ProtobufCMessageDescriptor *pick_desc(void)
{
	switch (below(8)) {
	case 0:
		return &lrpc_pbt__leaf__descriptor;
	case 1:
		return &lrpc_pbt__node__descriptor;
	case 2:
		return &lrpc_pbt__req__descriptor;
	case 3:
	case 4:
		return &lrpc_pbt__p3__descriptor;
	default:
		return &lrpc_pbt__p2__descriptor;
	}
}

/* Where the top-level fields of a valid encoding start; ends at len. */
static size_t field_starts(const uint8_t *p, size_t len, size_t *starts,
			   size_t max)
{
	size_t pos = 0, nf = 0, k, off, n;
	uint32_t tag;
	unsigned wt;
	bool multi;

	while (pos < len && nf < max) {
		k = pbt_scan_field(p + pos, len - pos, &tag, &wt, &multi, &off, &n);
		if (!k)
			break;
		starts[nf++] = pos;
		pos += k;
	}
	return nf;
}

/* ---- the decoder beside protobuf-c ---- */

/* The input of a failing case, to replay it. */
static void dump(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
		 size_t len)
{
	fprintf(stderr, "%s, %zu bytes:", desc->name, len);
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, " %02x", buf[i]);
	fprintf(stderr, "\n");
}

/* What we decoded is a sound message: packed, protobuf-c reads it back and
 * packs it the same. */
static void assert_sound(const ProtobufCMessageDescriptor *desc,
			 const ProtobufCMessage *m)
{
	ProtobufCMessage *again;
	uint8_t *p, *p2;
	size_t n, n2;

	p = pack(m, &n);
	again = protobuf_c_message_unpack(desc, NULL, n, p);
	ck_assert_ptr_nonnull(again);
	p2 = pack(again, &n2);
	assert_same_bytes(p, n, p2, n2);
	free(p);
	free(p2);
	protobuf_c_message_free_unpacked(again, NULL);
}

/* Without LRPC__PB_KEEP_UNKNOWN, the same input decodes the same but for
 * the unknown fields, which are gone. kept: what decoding kept. */
static void assert_dropping_agrees(const ProtobufCMessageDescriptor *desc,
				   const uint8_t *buf, size_t len,
				   const ProtobufCMessage *kept)
{
	int kept_errno = errno;
	ProtobufCMessage *d = lrpc__pb_decode(desc, NULL, len, buf);

	/* Keeping unknown fields may run over the budget where dropping
	 * them does not; anything else fails alike. */
	if (kept || kept_errno != E2BIG)
		ck_assert(!kept == !d);
	if (d)
		ck_assert(pbt_no_unknown(d));
	protobuf_c_message_free_unpacked(d, NULL);
}

/*
 * Decode with both: they must agree, but for the documented differences.
 * \return whether we accepted.
 */
static bool both(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
		 size_t len)
{
	ProtobufCMessage *a, *b;
	struct counting c;
	uint8_t *pa, *pb;
	size_t la, lb;
	unsigned q = pbt_quirks(desc, buf, len, 0);
	bool accepted, over;

	counting_init(&c);
	a = protobuf_c_message_unpack(desc, NULL, len, buf);
	b = decode_keep(desc, &c.pb, len, buf);
	over = !b && errno == E2BIG;
	assert_dropping_agrees(desc, buf, len, b);
	if (!a != !b) {
		if (!(a ? q & Q_STRICTER || over : q & Q_LAXER)) {
			dump(desc, buf, len);
			ck_abort_msg(a ? "we reject what protobuf-c accepts" :
					 "we accept what protobuf-c rejects");
		}
		*(a ? &n_stricter : &n_laxer) += 1;
	}
	if (b)
		assert_sound(desc, b);
	/* Where protobuf-c merges sub-messages, it merges differently. */
	if (a && b && !(q & Q_DUPMSG)) {
		pa = pack(a, &la);
		pb = pack(b, &lb);
		if (la != lb || memcmp(pa, pb, la))
			dump(desc, buf, len);
		assert_same_bytes(pa, la, pb, lb);
		free(pa);
		free(pb);
	}
	accepted = b;
	protobuf_c_message_free_unpacked(a, NULL);
	protobuf_c_message_free_unpacked(b, &c.pb);
	ck_assert_int_eq(c.live, 0);
	return accepted;
}

START_TEST(differential_random_messages)
{
	struct lrpc__arena arena;
	long bytes = 0;

	lrpc__arena_init(&arena);
	seed(1);
	for (int i = 0; i < 2500; i++) {
		const ProtobufCMessageDescriptor *desc = pick_desc();
		ProtobufCMessage *m = gen_msg(desc, 0), *a, *b;
		struct counting c;
		size_t len;
		uint8_t *buf = pack(m, &len);

		bytes += (long)len;
		a = protobuf_c_message_unpack(desc, NULL, len, buf);
		ck_assert_ptr_nonnull(a);
		assert_packs_to(a, buf, len);
		protobuf_c_message_free_unpacked(a, NULL);

		/* Counted malloc: everything comes back. */
		counting_init(&c);
		b = decode_keep(desc, &c.pb, len, buf);
		ck_assert_ptr_nonnull(b);
		assert_packs_to(b, buf, len);
		protobuf_c_message_free_unpacked(b, &c.pb);
		ck_assert_int_eq(c.live, 0);

		/* An arena, whose free does nothing. */
		b = decode_keep(desc, &arena.pb, len, buf);
		ck_assert_ptr_nonnull(b);
		assert_packs_to(b, buf, len);
		protobuf_c_message_free_unpacked(b, &arena.pb);
		lrpc__arena_reset(&arena);

		/* The default allocator; LeakSanitizer watches. */
		b = decode_keep(desc, NULL, len, buf);
		ck_assert_ptr_nonnull(b);
		assert_packs_to(b, buf, len);
		protobuf_c_message_free_unpacked(b, NULL);

		free(buf);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	lrpc__arena_destroy(&arena);
	printf("differential: 2500 messages, %ld bytes\n", bytes);
}
END_TEST

START_TEST(every_allocation_failure_unwinds)
{
	long cases = 0;

	seed(2);
	for (int i = 0; i < 60; i++) {
		const ProtobufCMessageDescriptor *desc = pick_desc();
		ProtobufCMessage *m = gen_msg(desc, 0), *b;
		struct counting c;
		size_t len;
		uint8_t *buf = pack(m, &len);
		long total;

		counting_init(&c);
		b = decode_keep(desc, &c.pb, len, buf);
		ck_assert_ptr_nonnull(b);
		protobuf_c_message_free_unpacked(b, &c.pb);
		total = c.total;
		for (long k = 0; k < total; k++, cases++) {
			counting_init(&c);
			c.fail_at = k;
			b = decode_keep(desc, &c.pb, len, buf);
			ck_assert_ptr_null(b);
			ck_assert_int_eq(c.live, 0);
		}
		free(buf);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	printf("allocation failures: %ld cases\n", cases);
}
END_TEST

/* ---- mutations ---- */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void b_insert(struct bytes *b, size_t at, const uint8_t *src,
		     size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n) * 2 + 16;
		b->p = realloc(b->p, b->cap);
	}
	memmove(b->p + at + n, b->p + at, b->len - at);
	if (n)
		memcpy(b->p + at, src, n);
	b->len += n;
}

static void b_erase(struct bytes *b, size_t at, size_t n)
{
	if (n)
		memmove(b->p + at, b->p + at + n, b->len - at - n);
	b->len -= n;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	do {
		out[n++] = (uint8_t)(v & 0x7f) | 0x80;
		v >>= 7;
	} while (v);
	out[n - 1] &= 0x7f;
	return n;
}

/* A varint that may be overlong, unterminated or huge. */
static size_t wild_varint(uint8_t *out)
{
	size_t n;

	switch (below(4)) {
	case 0:
		n = 1 + below(12);
		for (size_t i = 0; i < n; i++)
			out[i] = (uint8_t)rnd() | 0x80;
		if (below(4))
			out[n - 1] &= 0x7f;
		return n;
	case 1:
		return put_varint(out, rnd());
	default:
		return put_varint(out, below(40));
	}
}

/* A tag for one of desc's fields (or a stranger) with any wire type. */
static size_t wild_tag(const ProtobufCMessageDescriptor *desc, uint8_t *out)
{
	uint64_t id = below(4) ? desc->fields[below(desc->n_fields)].id :
				 below(3) ? below(200) : rnd() >> 29;
	uint64_t wt = below(3) ? below(6) : below(8);

	if (wt == 4 && below(2))
		wt = 2;
	return put_varint(out, id << 3 | wt);
}

static void mutate(const ProtobufCMessageDescriptor *desc, struct bytes *b,
		   const uint8_t *other, size_t olen)
{
	uint8_t tmp[64];
	size_t starts[512], nf, at, n, i;

	switch (below(11)) {
	case 0: /* overwrite bytes */
		for (i = 1 + below(3); i && b->len; i--) {
			at = below(b->len);
			b->p[at] = (uint8_t)rnd();
		}
		break;
	case 1: /* flip a bit */
		if (b->len) {
			at = below(b->len);
			b->p[at] ^= (uint8_t)(1u << below(8));
		}
		break;
	case 2: /* truncate */
		b->len = below(b->len + 1);
		break;
	case 3: /* splice in a piece of another encoding */
		at = below(b->len + 1);
		b_erase(b, at, below(b->len - at + 1));
		i = below(olen + 1);
		n = below(olen - i + 1);
		b_insert(b, below(b->len + 1), other + i, n);
		break;
	case 4: /* a stray varint */
		b_insert(b, below(b->len + 1), tmp, wild_varint(tmp));
		break;
	case 5: /* a tag, then whatever */
		n = wild_tag(desc, tmp);
		n += wild_varint(tmp + n);
		for (i = below(6); i; i--)
			tmp[n++] = (uint8_t)rnd();
		nf = field_starts(b->p, b->len, starts, 512);
		at = nf && below(2) ? starts[below(nf)] : b->len;
		b_insert(b, at, tmp, n);
		break;
	case 6: /* a length-delimited field with a lying prefix */
		n = wild_tag(desc, tmp);
		n += put_varint(tmp + n, below(2) ? below(20) :
					 below(3) ? rnd_mag() :
					 (uint64_t)INT_MAX + below(3));
		b_insert(b, below(2) ? b->len : below(b->len + 1), tmp, n);
		break;
	case 7: /* duplicate a field, length-delimited ones preferably */
		nf = field_starts(b->p, b->len, starts, 512);
		if (!nf)
			break;
		i = below(nf);
		for (n = 0; n < 8 && (b->p[starts[i]] & 7) != 2; n++)
			i = below(nf);
		n = (i + 1 < nf ? starts[i + 1] : b->len) - starts[i];
		{
			uint8_t *copy = malloc(n);

			memcpy(copy, b->p + starts[i], n);
			b_insert(b, below(2) ? b->len : starts[below(nf)],
				 copy, n);
			free(copy);
		}
		break;
	case 8: /* drop a field */
		nf = field_starts(b->p, b->len, starts, 512);
		if (!nf)
			break;
		i = below(nf);
		b_erase(b, starts[i],
			(i + 1 < nf ? starts[i + 1] : b->len) - starts[i]);
		break;
	case 9: /* change a field's wire type */
		nf = field_starts(b->p, b->len, starts, 512);
		if (nf) {
			at = starts[below(nf)];
			b->p[at] ^= (uint8_t)(1 + below(7));
		}
		break;
	default: /* overwrite a run of bytes near a field start */
		nf = field_starts(b->p, b->len, starts, 512);
		if (!nf)
			break;
		at = starts[below(nf)];
		at += below(4);
		for (i = below(4); i && at < b->len; i--, at++)
			b->p[at] = below(2) ? (uint8_t)rnd() : 0x80;
		break;
	}
}

START_TEST(mutated_encodings_agree)
{
	long accepted = 0, dup = 0, total = 0;
	uint8_t *prev = NULL;
	size_t prevlen = 0;

	seed(3);
	gen_maxdepth = 2;
	gen_maxrep = 3;
	for (int i = 0; i < 8000; i++) {
		const ProtobufCMessageDescriptor *desc = pick_desc();
		ProtobufCMessage *m = gen_msg(desc, 0);
		struct bytes b = { .p = malloc(16), .cap = 16 };
		size_t len;
		uint8_t *buf = pack(m, &len), *exact;
		unsigned q;

		b_insert(&b, 0, buf, len);
		for (int k = 1 + (int)below(3); k; k--)
			mutate(desc, &b, prev ? prev : buf,
			       prev ? prevlen : len);
		/* Exactly as long as the input, for ASan to see overreads. */
		exact = malloc(b.len ? b.len : 1);
		memcpy(exact, b.p, b.len ? b.len : 1);
		q = pbt_quirks(desc, exact, b.len, 0);
		if (both(desc, exact, b.len)) {
			accepted++;
			dup += !!(q & Q_DUPMSG);
		}
		total++;
		free(exact);
		free(b.p);
		free(prev);
		prev = buf;
		prevlen = len;
		protobuf_c_message_free_unpacked(m, NULL);
	}
	free(prev);
	printf("mutations: %ld cases, we accepted %ld (%ld with a sub-message "
	       "merged); documented differences: %ld we rejected, %ld only "
	       "protobuf-c rejected\n", total, accepted, dup, n_stricter,
	       n_laxer);
	/* Enough of both kinds to mean something. */
	ck_assert_int_gt(accepted, total / 10);
	ck_assert_int_gt(total - accepted, total / 10);
	ck_assert_int_gt(dup, 20);
}
END_TEST

/* ---- odd but valid wire data, made field by field ---- */

/* A varint, now and then padded with zero groups to up to max bytes. */
static void put_wire_varint(struct bytes *b, uint64_t v, size_t max)
{
	uint8_t tmp[10];
	size_t n = put_varint(tmp, v);

	if (below(8) == 0)
		for (size_t pad = below(max - n + 1); pad; pad--) {
			tmp[n - 1] |= 0x80;
			tmp[n++] = 0;
		}
	b_insert(b, b->len, tmp, n);
}

static void put_wire_fixed(struct bytes *b, size_t width)
{
	uint64_t v = rnd64();
	uint8_t tmp[8];

	for (size_t i = 0; i < width; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	b_insert(b, b->len, tmp, width);
}

static void put_wire_len(struct bytes *b, const struct bytes *payload)
{
	put_wire_varint(b, payload->len, 5);
	b_insert(b, b->len, payload->p, payload->len);
}

static unsigned natural_wt(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return 2;
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return 5;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 1;
	default:
		return 0;
	}
}

static void wire_msg(const ProtobufCMessageDescriptor *desc, int depth,
		     struct bytes *out);

/* One value of wire type wt for field f (NULL: unknown). */
static void wire_value(const ProtobufCFieldDescriptor *f, unsigned wt,
		       int depth, struct bytes *out)
{
	struct bytes sub = { .p = malloc(16), .cap = 16 };
	size_t n;

	switch (wt) {
	case 0:
		put_wire_varint(out, f && f->type == PROTOBUF_C_TYPE_BOOL &&
					     below(2) ? below(2) : rnd64(),
				10);
		break;
	case 1:
		put_wire_fixed(out, 8);
		break;
	case 5:
		put_wire_fixed(out, 4);
		break;
	default:
		if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (depth < 4)
				wire_msg(f->descriptor, depth + 1, &sub);
		} else if (f && natural_wt(f->type) != 2) {
			/* Packed. */
			wt = natural_wt(f->type);
			for (n = below(6); n; n--) {
				if (wt == 0)
					put_wire_varint(&sub, rnd64(), 10);
				else
					put_wire_fixed(&sub, wt == 1 ? 8 : 4);
			}
		} else {
			for (n = below(20); n; n--) {
				uint8_t c = (uint8_t)(' ' + below(95));

				b_insert(&sub, sub.len, &c, 1);
			}
		}
		put_wire_len(out, &sub);
		break;
	}
	free(sub.p);
}

static void wire_msg(const ProtobufCMessageDescriptor *desc, int depth,
		     struct bytes *out)
{
	unsigned char used[256] = { 0 };
	size_t nf = below(12) + 1;

	/* Required fields, mostly. */
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];

		if (f->label == PROTOBUF_C_LABEL_REQUIRED && below(20)) {
			put_wire_varint(out, (uint64_t)f->id << 3 |
						     natural_wt(f->type), 5);
			wire_value(f, natural_wt(f->type), depth, out);
		}
	}
	while (nf--) {
		const ProtobufCFieldDescriptor *f;
		uint32_t id;
		unsigned wt;

		if (below(10) == 0) {
			do
				id = below(2) ? (uint32_t)below(2000) + 1 :
						(uint32_t)(rnd() >> 32) | 1;
			while (protobuf_c_message_descriptor_get_field(desc,
								       id));
			f = NULL;
			wt = (unsigned)below(3);
			wt = wt == 2 ? 5 : wt == 1 ? 2 : below(2);
		} else {
			f = &desc->fields[below(desc->n_fields)];
			id = f->id;
			wt = natural_wt(f->type);
			/* Packed or not, either way. */
			if (f->label == PROTOBUF_C_LABEL_REPEATED && wt != 2 &&
			    below(2))
				wt = 2;
			/* Now and then the wrong wire type. */
			if (below(40) == 0)
				wt = (unsigned[]){ 0, 1, 2, 5 }[below(4)];
			/* A singular sub-message twice is merged, the one
			 * place where protobuf-c differs: keep it rare. */
			if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    f->label != PROTOBUF_C_LABEL_REPEATED &&
			    !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    used[(f - desc->fields) % 256]++ && below(8))
				continue;
		}
		put_wire_varint(out, (uint64_t)id << 3 | wt, 5);
		wire_value(f, wt, depth, out);
	}
}

START_TEST(odd_wire_data_agrees)
{
	long accepted = 0, total = 4000;

	seed(5);
	for (long i = 0; i < total; i++) {
		const ProtobufCMessageDescriptor *desc = pick_desc();
		struct bytes b = { .p = malloc(16), .cap = 16 };
		uint8_t *exact;

		wire_msg(desc, 0, &b);
		exact = malloc(b.len ? b.len : 1);
		memcpy(exact, b.p, b.len ? b.len : 1);
		accepted += both(desc, exact, b.len);
		free(exact);
		free(b.p);
	}
	printf("odd wire data: %ld cases, we accepted %ld; documented "
	       "differences: %ld we rejected, %ld only protobuf-c rejected\n",
	       total, accepted, n_stricter, n_laxer);
	ck_assert_int_gt(accepted, total / 2);
}
END_TEST

/* ---- a peer that rewrites the buffer while we decode it ---- */

struct scribbler {
	volatile uint8_t *buf;
	const uint8_t *orig;
	size_t len;
	unsigned calm; /* 1: flat out; more: pauses between writes */
	atomic_bool stop;
	uint64_t writes;
};

static void *scribble(void *arg)
{
	struct scribbler *s = arg;
	uint64_t x = 12345;

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		size_t at;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		at = (size_t)(x % s->len);
		/* Bursts and lulls, so that a decode sees anything from no
		 * write to many. */
		for (volatile unsigned spin = (unsigned)(x >> 20) &
					      ((1u << (x >> 60) % s->calm) - 1);
		     spin; spin--)
			;
		switch ((x >> 40) % 8) {
		case 0:
			s->buf[at] = s->orig[at];
			break;
		case 1:
			s->buf[at] = 0x80;
			break;
		case 2:
			s->buf[at] = 0xff;
			break;
		default:
			s->buf[at] = (uint8_t)(x >> 32);
			break;
		}
		s->writes++;
	}
	return NULL;
}

START_TEST(hostile_writer_cannot_hurt)
{
	long ok = 0, runs = 0;
	uint64_t writes = 0;

	seed(4);
	for (int round = 0; round < 6; round++) {
		const ProtobufCMessageDescriptor *desc =
			round % 2 ? &lrpc_pbt__p2__descriptor :
				    &lrpc_pbt__p3__descriptor;
		ProtobufCMessage *m = gen_msg(desc, 0);
		struct scribbler s = { 0 };
		struct counting c;
		pthread_t t;
		size_t len;
		uint8_t *orig = pack(m, &len);
		struct timespec t0, t1;

		s.buf = malloc(len);
		memcpy((void *)s.buf, orig, len);
		s.orig = orig;
		s.len = len;
		s.calm = (unsigned[]){ 1, 10, 16 }[round % 3];
		atomic_init(&s.stop, false);
		ck_assert_int_eq(pthread_create(&t, NULL, scribble, &s), 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < 3000; i++, runs++) {
			ProtobufCMessage *b;

			/* Mostly from a fresh copy, as the peer might lay out
			 * a good message and then turn on it. */
			if (i % 4)
				memcpy((void *)s.buf, orig, len);
			counting_init(&c);
			b = decode_keep(desc, &c.pb, len,
					    (const uint8_t *)s.buf);
			if (b) {
				assert_sound(desc, b);
				protobuf_c_message_free_unpacked(b, &c.pb);
				ok++;
			}
			ck_assert_int_eq(c.live, 0);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((t1.tv_sec - t0.tv_sec) * 1000000000L +
				    (t1.tv_nsec - t0.tv_nsec) > 800000000L)
				break; /* slow machine: enough */
		}
		atomic_store(&s.stop, true);
		pthread_join(t, NULL);
		writes += s.writes;
		free((void *)s.buf);
		free(orig);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	printf("hostile writer: %ld decodes, %ld gave a message, %llu "
	       "writes\n", runs, ok, (unsigned long long)writes);
	ck_assert_int_gt(ok, 0);
}
END_TEST

/* ---- by hand ---- */

static size_t put_tag(uint8_t *out, uint32_t id, unsigned wt)
{
	return put_varint(out, (uint64_t)id << 3 | wt);
}

START_TEST(empty_input)
{
	LrpcPbt__P3 *p3;
	LrpcPbt__P2 *p2;

	p3 = (LrpcPbt__P3 *)decode_keep(&lrpc_pbt__p3__descriptor, NULL,
					    0, NULL);
	ck_assert_ptr_nonnull(p3);
	ck_assert_str_eq(p3->f_string, "");
	ck_assert_ptr_null(p3->f_leaf);
	ck_assert_uint_eq(p3->n_r_int32, 0);
	ck_assert_int_eq(p3->choice_case, LRPC_PBT__P3__CHOICE__NOT_SET);
	protobuf_c_message_free_unpacked(&p3->base, NULL);

	/* Required fields: absent. */
	ck_assert_ptr_null(decode_keep(&lrpc_pbt__p2__descriptor, NULL, 0,
					   (const uint8_t *)""));
	ck_assert(!both(&lrpc_pbt__p2__descriptor, (const uint8_t *)"", 0));

	/* Defaults, from a message with just the required fields. */
	{
		static const uint8_t in[] = { 0x08, 0x01, 0x12, 0x00 };

		ck_assert(both(&lrpc_pbt__p2__descriptor, in, sizeof(in)));
		p2 = (LrpcPbt__P2 *)decode_keep(&lrpc_pbt__p2__descriptor,
						    NULL, sizeof(in), in);
		ck_assert_ptr_nonnull(p2);
		ck_assert_int_eq(p2->o_int32, -42);
		ck_assert(!p2->has_o_int32);
		ck_assert_str_eq(p2->o_string, "hello");
		ck_assert_uint_eq(p2->o_bytes.len, 7);
		ck_assert(memcmp(p2->o_bytes.data, "\1\0world", 7) == 0);
		ck_assert_int_eq(p2->o_mood, LRPC_PBT__MOOD__ANGRY);
		ck_assert(p2->o_bool);
		ck_assert(p2->o_float == 1.5f);
		ck_assert_uint_eq(p2->o_uint64, 18000000000000000000ull);
		ck_assert_int_eq(p2->r_dflt, 5);
		ck_assert_str_eq(p2->r_name, "");
		protobuf_c_message_free_unpacked(&p2->base, NULL);
	}
}
END_TEST

START_TEST(one_mib_bytes_is_one_allocation)
{
	size_t n = 1 << 20, len;
	uint8_t *in = malloc(n + 16), *out;
	struct counting c;
	LrpcPbt__P3 *p3;

	len = put_tag(in, 16, 2);
	len += put_varint(in + len, n);
	for (size_t i = 0; i < n; i++)
		in[len + i] = (uint8_t)(i * 7 + 3);
	len += n;

	counting_init(&c);
	p3 = (LrpcPbt__P3 *)decode_keep(&lrpc_pbt__p3__descriptor, &c.pb,
					    len, in);
	ck_assert_ptr_nonnull(p3);
	ck_assert_uint_eq(p3->f_bytes.len, n);
	ck_assert(memcmp(p3->f_bytes.data, in + len - n, n) == 0);
	/* The message, and the bytes once. */
	ck_assert_int_eq(c.total, 2);
	ck_assert_uint_eq(c.max_size, n);
	ck_assert_uint_eq(c.bytes, n + sizeof(LrpcPbt__P3));
	out = pack(&p3->base, &n);
	assert_same_bytes(out, n, in, len);
	free(out);
	protobuf_c_message_free_unpacked(&p3->base, &c.pb);
	ck_assert_int_eq(c.live, 0);
	ck_assert(both(&lrpc_pbt__p3__descriptor, in, len));
	free(in);
}
END_TEST

/* ---- the memory budget ---- */

/* Field 10 is unknown to Leaf; "50 00" is it as a varint 0. 4 MiB of that
 * once cost 132 MB: 2M unknown-field entries and their data. */
START_TEST(unknown_fields_cost_nothing)
{
	size_t len = 4 << 20;
	uint8_t *in = malloc(len);
	struct counting c;
	ProtobufCMessage *m;

	for (size_t i = 0; i < len; i += 2) {
		in[i] = 10 << 3;
		in[i + 1] = 0;
	}
	counting_init(&c);
	m = lrpc__pb_decode(&lrpc_pbt__leaf__descriptor, &c.pb, len, in);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->n_unknown_fields, 0);
	ck_assert_int_eq(c.total, 1); /* the message, nothing else */
	protobuf_c_message_free_unpacked(m, &c.pb);
	ck_assert_int_eq(c.live, 0);

	/* Kept, they run into the budget instead. */
	counting_init(&c);
	errno = 0;
	ck_assert_ptr_null(decode_keep(&lrpc_pbt__leaf__descriptor, &c.pb,
				       len, in));
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_uint_le(c.bytes, lrpc__pb_budget(len));
	ck_assert_int_eq(c.live, 0);

	/* Skipped, but still checked: a group is an error. */
	in[len / 2] = 10 << 3 | 3;
	errno = 0;
	ck_assert_ptr_null(lrpc__pb_decode(&lrpc_pbt__leaf__descriptor, NULL,
					   len, in));
	ck_assert_int_eq(errno, EBADMSG);
	free(in);
}
END_TEST

/* Empty sub-messages: a Node's "leaves" (field 3) as "1a 00", two bytes
 * for an 80-byte Leaf and its pointer. */
START_TEST(budget_refuses_empty_lists)
{
	size_t len = 1 << 20;
	uint8_t *in = malloc(len);
	struct counting c;

	for (size_t i = 0; i < len; i += 2) {
		in[i] = 3 << 3 | 2;
		in[i + 1] = 0;
	}
	counting_init(&c);
	errno = 0;
	ck_assert_ptr_null(lrpc__pb_decode(&lrpc_pbt__node__descriptor,
					   &c.pb, len, in));
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_uint_le(c.bytes, lrpc__pb_budget(len));
	ck_assert_int_eq(c.live, 0);
	/* protobuf-c takes it all. */
	ck_assert(both(&lrpc_pbt__node__descriptor, in, len) == false);
	free(in);
}
END_TEST

/* Dense lists of the widest scalar, at their worst point (just past a
 * doubling of the array): Leaf's "r" (field 4, sint64) unpacked as "20 00"
 * per element, then packed. Both fit the budget. */
START_TEST(budget_fits_dense_lists)
{
	size_t count = (1 << 18) + 1, len, body;
	uint8_t *in = malloc(2 * count + 16);
	struct counting c;
	LrpcPbt__Leaf *leaf;

	for (int packed = 0; packed < 2; packed++) {
		len = 0;
		if (packed) {
			len = put_tag(in, 4, 2);
			len += put_varint(in + len, count);
			memset(in + len, 0, count);
			len += count;
		} else {
			for (body = 0; body < count; body++) {
				in[len++] = 4 << 3;
				in[len++] = 0;
			}
		}
		counting_init(&c);
		leaf = (LrpcPbt__Leaf *)lrpc__pb_decode(
			&lrpc_pbt__leaf__descriptor, &c.pb, len, in);
		ck_assert_ptr_nonnull(leaf);
		ck_assert_uint_eq(leaf->n_r, count);
		ck_assert_uint_le(c.bytes, lrpc__pb_budget(len));
		protobuf_c_message_free_unpacked(&leaf->base, &c.pb);
		ck_assert_int_eq(c.live, 0);
	}
	free(in);
}
END_TEST

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100k int32s of every size, packed (field 21) or not (field 38). */
static uint8_t *many_int32(bool packed, size_t count, size_t *len)
{
	uint8_t *in = malloc(count * 12 + 16), *p;
	size_t n = 0, body = 0;

	for (size_t i = 0; i < count; i++) {
		int32_t v = (int32_t)(i * 2654435761u) >> (i % 31);

		if (!packed)
			body += put_tag(in + body, 38, 0);
		body += put_varint(in + body, (uint64_t)(int64_t)v);
	}
	if (!packed) {
		*len = body;
		return in;
	}
	p = malloc(body + 16);
	n = put_tag(p, 21, 2);
	n += put_varint(p + n, body);
	memcpy(p + n, in, body);
	free(in);
	*len = n + body;
	return p;
}

START_TEST(hundred_thousand_int32s)
{
	for (int packed = 0; packed < 2; packed++) {
		size_t count = 100000, len, n;
		uint8_t *in = many_int32(packed, count, &len), *out;
		struct counting c;
		LrpcPbt__P3 *p3;
		int32_t *vals;

		counting_init(&c);
		p3 = (LrpcPbt__P3 *)decode_keep(&lrpc_pbt__p3__descriptor,
						    &c.pb, len, in);
		ck_assert_ptr_nonnull(p3);
		n = packed ? p3->n_r_int32 : p3->n_r_unpacked;
		vals = packed ? p3->r_int32 : p3->r_unpacked;
		ck_assert_uint_eq(n, count);
		for (size_t i = 0; i < count; i++)
			ck_assert_int_eq(vals[i], (int32_t)(i * 2654435761u) >>
							  (i % 31));
		/* Doubling: a handful of allocations, not one per element;
		 * packed, one array with room for an element per byte. */
		ck_assert_int_lt(c.total, 40);
		ck_assert_uint_le(c.max_size, packed ? 2 * len * sizeof(int32_t) :
					      131072 * sizeof(int32_t));
		ck_assert_uint_le(c.bytes, lrpc__pb_budget(len));
		out = pack(&p3->base, &n);
		assert_same_bytes(out, n, in, len);
		free(out);
		protobuf_c_message_free_unpacked(&p3->base, &c.pb);
		ck_assert_int_eq(c.live, 0);
		ck_assert(both(&lrpc_pbt__p3__descriptor, in, len));
		free(in);
	}
}
END_TEST

/* A Node with depth children below it: built inside out. */
static uint8_t *nodes(size_t depth, size_t *len)
{
	size_t cap = depth * 8 + 16, at = cap, body = 0;
	uint8_t *buf = malloc(cap), hdr[16], *out;
	size_t h;

	for (size_t i = 0; i < depth; i++) {
		h = put_tag(hdr, 1, 2);
		h += put_varint(hdr + h, body);
		at -= h;
		memcpy(buf + at, hdr, h);
		body += h;
	}
	out = malloc(body ? body : 1);
	memcpy(out, buf + at, body);
	free(buf);
	*len = body;
	return out;
}

START_TEST(depth_limit)
{
	size_t len;
	uint8_t *in;
	ProtobufCMessage *m;

	in = nodes(LRPC__PB_MAX_DEPTH, &len);
	ck_assert(both(&lrpc_pbt__node__descriptor, in, len));
	free(in);

	/* One more: protobuf-c goes on, we stop. */
	in = nodes(LRPC__PB_MAX_DEPTH + 1, &len);
	ck_assert_ptr_null(decode_keep(&lrpc_pbt__node__descriptor, NULL,
					   len, in));
	ck_assert(pbt_quirks(&lrpc_pbt__node__descriptor, in, len, 0) & Q_DEPTH);
	ck_assert(!both(&lrpc_pbt__node__descriptor, in, len));
	free(in);

	/* Far deeper than a stack would take (not for protobuf-c). */
	in = nodes(200000, &len);
	m = decode_keep(&lrpc_pbt__node__descriptor, NULL, len, in);
	ck_assert_ptr_null(m);
	free(in);
}
END_TEST

START_TEST(length_prefix_beyond_the_end)
{
	static const uint8_t short_bytes[] = { 0x82, 0x01, 0x64, 'a', 'b' };
	static const uint8_t huge[] = { 0x82, 0x01, 0xff, 0xff, 0xff, 0xff,
					0x07, 'a' };
	static const uint8_t too_big[] = { 0x82, 0x01, 0x80, 0x80, 0x80,
					   0x80, 0x08 };
	static const uint8_t six_bytes[] = { 0x82, 0x01, 0x80, 0x80, 0x80,
					     0x80, 0x80, 0x00 };
	static const uint8_t in_sub[] = { 0x8a, 0x01, 0x04, 0x1a, 0x05, 'x',
					  'y' };
	const uint8_t *cases[] = { short_bytes, huge, too_big, six_bytes,
				   in_sub };
	size_t lens[] = { sizeof(short_bytes), sizeof(huge), sizeof(too_big),
			  sizeof(six_bytes), sizeof(in_sub) };

	size_t big = (size_t)INT_MAX + 64;
	uint8_t *vast;
	struct counting c;

	for (int i = 0; i < 5; i++) {
		counting_init(&c);
		ck_assert_ptr_null(decode_keep(&lrpc_pbt__p3__descriptor,
						   &c.pb, lens[i], cases[i]));
		/* Only the message itself was ever allocated. */
		ck_assert_uint_le(c.max_size, sizeof(LrpcPbt__P3));
		ck_assert_int_eq(c.live, 0);
		ck_assert(!both(&lrpc_pbt__p3__descriptor, cases[i], lens[i]));
	}

	/* 2 GiB and more is too long even when the input has it (only its
	 * first page is ever touched). */
	vast = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vast == MAP_FAILED)
		return;
	memcpy(vast, too_big, sizeof(too_big));
	counting_init(&c);
	ck_assert_ptr_null(decode_keep(&lrpc_pbt__p3__descriptor, &c.pb,
					   big, vast));
	ck_assert_uint_le(c.max_size, sizeof(LrpcPbt__P3));
	ck_assert_ptr_null(protobuf_c_message_unpack(&lrpc_pbt__p3__descriptor,
						     NULL, big, vast));
	munmap(vast, big);
}
END_TEST

START_TEST(varint_lengths)
{
	/* f_int64 = 4: ten bytes is the most, the tenth's high bits go. */
	uint8_t in[16] = { 0x20 };
	LrpcPbt__P3 *p3;

	memset(in + 1, 0xff, 9);
	in[10] = 0x7f;
	ck_assert(both(&lrpc_pbt__p3__descriptor, in, 11));
	p3 = (LrpcPbt__P3 *)decode_keep(&lrpc_pbt__p3__descriptor, NULL,
					    11, in);
	ck_assert_ptr_nonnull(p3);
	ck_assert_int_eq(p3->f_int64, -1);
	protobuf_c_message_free_unpacked(&p3->base, NULL);

	in[10] = 0xff;
	in[11] = 0x01;
	ck_assert_ptr_null(decode_keep(&lrpc_pbt__p3__descriptor, NULL,
					   12, in));
	ck_assert(!both(&lrpc_pbt__p3__descriptor, in, 12));
	/* Same in a packed field. */
	{
		static const uint8_t pk[] = { 0xaa, 0x01, 0x0b, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0x01 };

		ck_assert(!both(&lrpc_pbt__p3__descriptor, pk, sizeof(pk)));
	}
	/* Truncated varint, truncated tag, truncated fixed values. */
	{
		static const uint8_t a[] = { 0x08, 0x80 };
		static const uint8_t t[] = { 0x80 };
		static const uint8_t f32[] = { 0x1d, 1, 2, 3 };
		static const uint8_t f64[] = { 0x31, 1, 2, 3, 4, 5, 6, 7 };

		ck_assert(!both(&lrpc_pbt__p3__descriptor, a, sizeof(a)));
		ck_assert(!both(&lrpc_pbt__p3__descriptor, t, sizeof(t)));
		ck_assert(!both(&lrpc_pbt__p3__descriptor, f32, sizeof(f32)));
		ck_assert(!both(&lrpc_pbt__p3__descriptor, f64, sizeof(f64)));
	}

	/* A bool is true if any payload bit is set, even past the 64th
	 * (protobuf-c's rule; Google's protobuf would say false). */
	{
		static const uint8_t bl[] = { 0x68, 0x80, 0x80, 0x80, 0x80,
					      0x80, 0x80, 0x80, 0x80, 0x80,
					      0x02 };

		ck_assert(both(&lrpc_pbt__p3__descriptor, bl, sizeof(bl)));
		p3 = (LrpcPbt__P3 *)decode_keep(&lrpc_pbt__p3__descriptor,
						    NULL, sizeof(bl), bl);
		ck_assert_ptr_nonnull(p3);
		ck_assert_int_eq(p3->f_bool, 1);
		protobuf_c_message_free_unpacked(&p3->base, NULL);
	}

	/* 32-bit fields keep the low 32 bits of a 64-bit varint. */
	{
		uint8_t b[32];
		size_t n = put_tag(b, 1, 0);

		n += put_varint(b + n, 0x1234567800000005ull);
		n += put_tag(b + n, 2, 0);
		n += put_varint(b + n, 0xffffffff00000003ull);
		ck_assert(both(&lrpc_pbt__p3__descriptor, b, n));
		p3 = (LrpcPbt__P3 *)decode_keep(&lrpc_pbt__p3__descriptor,
						    NULL, n, b);
		ck_assert_ptr_nonnull(p3);
		ck_assert_int_eq(p3->f_int32, 5);
		ck_assert_int_eq(p3->f_sint32, -2);
		protobuf_c_message_free_unpacked(&p3->base, NULL);
	}
}
END_TEST

START_TEST(wire_types)
{
	/* Groups and wire types 6, 7: never, known field or not. */
	static const uint8_t grp[] = { 0x0b, 0x0c };
	static const uint8_t grp_unknown[] = { 0xbb, 0x3e, 0xbc, 0x3e };
	static const uint8_t wt6[] = { 0x0e, 0x00 };
	/* A known int32 sent as fixed32: an error, not an unknown field. */
	static const uint8_t mismatch[] = { 0x0d, 1, 2, 3, 4 };
	/* A string sent as a varint. */
	static const uint8_t str_varint[] = { 0x78, 0x01 };
	/* Field 0, one byte: both reject. */
	static const uint8_t tag0[] = { 0x00, 0x00 };
	/* The same packed and unpacked, mixed: appended in order. */
	static const uint8_t mixed[] = { 0xa8, 0x01, 0x01, 0xaa, 0x01, 0x02,
					 0x02, 0x03, 0xa8, 0x01, 0x04 };
	LrpcPbt__P3 *p3;

	ck_assert(!both(&lrpc_pbt__p3__descriptor, grp, sizeof(grp)));
	ck_assert(!both(&lrpc_pbt__p3__descriptor, grp_unknown,
			sizeof(grp_unknown)));
	ck_assert(!both(&lrpc_pbt__p3__descriptor, wt6, sizeof(wt6)));
	ck_assert(!both(&lrpc_pbt__p3__descriptor, mismatch, sizeof(mismatch)));
	ck_assert(!both(&lrpc_pbt__p3__descriptor, str_varint,
			sizeof(str_varint)));
	ck_assert(!both(&lrpc_pbt__p3__descriptor, tag0, sizeof(tag0)));
	ck_assert(both(&lrpc_pbt__p3__descriptor, mixed, sizeof(mixed)));
	p3 = (LrpcPbt__P3 *)decode_keep(&lrpc_pbt__p3__descriptor, NULL,
					    sizeof(mixed), mixed);
	ck_assert_ptr_nonnull(p3);
	ck_assert_uint_eq(p3->n_r_int32, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(p3->r_int32[i], i + 1);
	protobuf_c_message_free_unpacked(&p3->base, NULL);
}
END_TEST

START_TEST(unknown_fields_round_trip)
{
	uint8_t in[128];
	size_t n = 0, out_len;
	uint8_t *out;
	ProtobufCMessage *m;
	static const uint8_t lumpy[] = { 0x85, 0x80, 0x80, 0x00 };

	n += put_tag(in + n, 1, 0); /* known: f_int32 = 7 */
	in[n++] = 7;
	n += put_tag(in + n, 1000, 0); /* an overlong varint */
	memcpy(in + n, lumpy, sizeof(lumpy));
	n += sizeof(lumpy);
	n += put_tag(in + n, 1001, 1);
	memcpy(in + n, "12345678", 8);
	n += 8;
	n += put_tag(in + n, 536870911u - 1, 5);
	memcpy(in + n, "abcd", 4);
	n += 4;
	n += put_tag(in + n, 4294967295u, 2); /* beyond field numbers */
	in[n++] = 3;
	memcpy(in + n, "xyz", 3);
	n += 3;
	n += put_tag(in + n, 2000, 2); /* empty */
	in[n++] = 0;

	ck_assert(both(&lrpc_pbt__p3__descriptor, in, n));
	m = decode_keep(&lrpc_pbt__p3__descriptor, NULL, n, in);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->n_unknown_fields, 5);
	ck_assert_uint_eq(m->unknown_fields[0].tag, 1000);
	ck_assert_uint_eq(m->unknown_fields[0].len, 4);
	ck_assert_uint_eq(m->unknown_fields[3].tag, 4294967295u);
	ck_assert_uint_eq(m->unknown_fields[3].wire_type,
			  PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
	ck_assert_uint_eq(m->unknown_fields[3].len, 4);
	out = pack(m, &out_len);
	assert_same_bytes(out, out_len, in, n);
	free(out);
	protobuf_c_message_free_unpacked(m, NULL);
}
END_TEST

START_TEST(oneof_switches)
{
	uint8_t in[64];
	size_t n = 0;
	struct counting c;
	LrpcPbt__P3 *p3;

	/* o_string, o_leaf { i: 9 }, o_leaf { s: "q" }, o_bytes. */
	n += put_tag(in + n, 51, 2);
	in[n++] = 3;
	memcpy(in + n, "abc", 3);
	n += 3;
	n += put_tag(in + n, 53, 2);
	in[n++] = 2;
	in[n++] = 0x08;
	in[n++] = 9;
	n += put_tag(in + n, 53, 2);
	in[n++] = 3;
	in[n++] = 0x12;
	in[n++] = 1;
	in[n++] = 'q';
	counting_init(&c);
	p3 = (LrpcPbt__P3 *)decode_keep(&lrpc_pbt__p3__descriptor, &c.pb,
					    n, in);
	ck_assert_ptr_nonnull(p3);
	ck_assert_int_eq(p3->choice_case, LRPC_PBT__P3__CHOICE_O_LEAF);
	/* Replaced, not merged, as protobuf-c does for oneofs. */
	ck_assert_int_eq(p3->o_leaf->i, 0);
	ck_assert_str_eq(p3->o_leaf->s, "q");
	/* The string and the first leaf are gone already. */
	ck_assert_int_eq(c.live, 3);
	protobuf_c_message_free_unpacked(&p3->base, &c.pb);
	ck_assert(both(&lrpc_pbt__p3__descriptor, in, n));

	n += put_tag(in + n, 52, 2);
	in[n++] = 2;
	in[n++] = 0;
	in[n++] = 1;
	counting_init(&c);
	p3 = (LrpcPbt__P3 *)decode_keep(&lrpc_pbt__p3__descriptor, &c.pb,
					    n, in);
	ck_assert_ptr_nonnull(p3);
	ck_assert_int_eq(p3->choice_case, LRPC_PBT__P3__CHOICE_O_BYTES);
	ck_assert_uint_eq(p3->o_bytes.len, 2);
	ck_assert_int_eq(c.live, 2);
	protobuf_c_message_free_unpacked(&p3->base, &c.pb);
	ck_assert_int_eq(c.live, 0);
	ck_assert(both(&lrpc_pbt__p3__descriptor, in, n));

	/* And to a scalar member. */
	n += put_tag(in + n, 50, 0);
	in[n++] = 5;
	ck_assert(both(&lrpc_pbt__p3__descriptor, in, n));
}
END_TEST

START_TEST(required_fields)
{
	/* r_name missing. */
	static const uint8_t no_name[] = { 0x08, 0x01 };
	/* Req without dflt, which has a default: fine (as in protobuf-c). */
	static const uint8_t req_dflt[] = { 0x08, 0x05 };
	/* P2 whose o_req lacks its id. */
	static const uint8_t sub[] = { 0x08, 0x01, 0x12, 0x00, 0x9a, 0x01,
				       0x02, 0x18, 0x01 };
	/* o_req twice, the second without id: each occurrence must have
	 * it, like protobuf-c, which unpacks each on its own. */
	static const uint8_t twice[] = { 0x08, 0x01, 0x12, 0x00, 0x9a, 0x01,
					 0x02, 0x08, 0x01, 0x9a, 0x01, 0x02,
					 0x18, 0x01 };
	LrpcPbt__Req *r;

	ck_assert(!both(&lrpc_pbt__p2__descriptor, no_name, sizeof(no_name)));
	ck_assert(both(&lrpc_pbt__req__descriptor, req_dflt,
		       sizeof(req_dflt)));
	r = (LrpcPbt__Req *)decode_keep(&lrpc_pbt__req__descriptor, NULL,
					    sizeof(req_dflt), req_dflt);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->dflt, 9);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	ck_assert(!both(&lrpc_pbt__p2__descriptor, sub, sizeof(sub)));
	ck_assert(!both(&lrpc_pbt__p2__descriptor, twice, sizeof(twice)));
}
END_TEST

START_TEST(replaced_strings_and_bytes_are_freed)
{
	uint8_t in[64];
	size_t n = 0;
	struct counting c;
	LrpcPbt__P2 *p2;

	n += put_tag(in + n, 1, 0);
	in[n++] = 1;
	for (int i = 0; i < 3; i++) {
		n += put_tag(in + n, 2, 2); /* r_name */
		in[n++] = 2;
		in[n++] = (uint8_t)('a' + i);
		in[n++] = 'z';
		n += put_tag(in + n, 18, 2); /* o_bytes, default first */
		in[n++] = (uint8_t)(i == 2 ? 0 : 1);
		if (i != 2)
			in[n++] = (uint8_t)i;
		n += put_tag(in + n, 17, 2); /* o_string, likewise */
		in[n++] = 1;
		in[n++] = (uint8_t)('0' + i);
	}
	counting_init(&c);
	p2 = (LrpcPbt__P2 *)decode_keep(&lrpc_pbt__p2__descriptor, &c.pb,
					    n, in);
	ck_assert_ptr_nonnull(p2);
	ck_assert_str_eq(p2->r_name, "cz");
	ck_assert(p2->has_o_bytes);
	ck_assert_uint_eq(p2->o_bytes.len, 0);
	ck_assert_ptr_null(p2->o_bytes.data);
	ck_assert_str_eq(p2->o_string, "2");
	ck_assert_int_eq(c.live, 3); /* the message, "cz" and "2" */
	protobuf_c_message_free_unpacked(&p2->base, &c.pb);
	ck_assert_int_eq(c.live, 0);
	ck_assert(both(&lrpc_pbt__p2__descriptor, in, n));
}
END_TEST

START_TEST(documented_differences)
{
	/* A two-byte tag 0: protobuf-c takes it for an unknown field and
	 * would pack it as a bare 00 that nobody accepts. */
	static const uint8_t tag0[] = { 0x80, 0x00, 0x01 };
	/* A bool as fixed32, and as length-delimited (prefix included). */
	static const uint8_t bool32[] = { 0x6d, 0, 0, 0, 1 };
	static const uint8_t boolstr[] = { 0x6a, 0x01, 0x00 };
	/* f_leaf { i: 1, s: "a" } then f_leaf { b: "x" }. */
	static const uint8_t merge[] = { 0x8a, 0x01, 0x05, 0x08, 0x01, 0x12,
					 0x01, 'a', 0x8a, 0x01, 0x03, 0x1a,
					 0x01, 'x' };
	/* r_id, r_name, then o_p3 {} twice: P3 has a oneof, unset. */
	static const uint8_t oneof_merge[] = { 0x08, 0x01, 0x12, 0x00, 0xa2,
					       0x01, 0x00, 0xa2, 0x01, 0x00 };
	ProtobufCMessage *a;
	LrpcPbt__P3 *p3;

	a = protobuf_c_message_unpack(&lrpc_pbt__p3__descriptor, NULL,
				      sizeof(tag0), tag0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->n_unknown_fields, 1);
	ck_assert_uint_eq(a->unknown_fields[0].tag, 0);
	protobuf_c_message_free_unpacked(a, NULL);
	ck_assert(pbt_quirks(&lrpc_pbt__p3__descriptor, tag0, sizeof(tag0), 0) &
		  Q_TAG0);
	ck_assert(!both(&lrpc_pbt__p3__descriptor, tag0, sizeof(tag0)));

	ck_assert(!both(&lrpc_pbt__p3__descriptor, bool32, sizeof(bool32)));
	ck_assert(!both(&lrpc_pbt__p3__descriptor, boolstr, sizeof(boolstr)));
	a = protobuf_c_message_unpack(&lrpc_pbt__p3__descriptor, NULL,
				      sizeof(boolstr), boolstr);
	ck_assert_ptr_nonnull(a);
	ck_assert(((LrpcPbt__P3 *)a)->f_bool); /* read from the prefix */
	protobuf_c_message_free_unpacked(a, NULL);

	/* Merged as the encoding rules say; protobuf-c loses i. */
	p3 = (LrpcPbt__P3 *)decode_keep(&lrpc_pbt__p3__descriptor, NULL,
					    sizeof(merge), merge);
	ck_assert_ptr_nonnull(p3);
	ck_assert_int_eq(p3->f_leaf->i, 1);
	ck_assert_str_eq(p3->f_leaf->s, "a");
	ck_assert_uint_eq(p3->f_leaf->b.len, 1);
	protobuf_c_message_free_unpacked(&p3->base, NULL);
	p3 = (LrpcPbt__P3 *)protobuf_c_message_unpack(
		&lrpc_pbt__p3__descriptor, NULL, sizeof(merge), merge);
	ck_assert_ptr_nonnull(p3);
	ck_assert_int_eq(p3->f_leaf->i, 0);
	protobuf_c_message_free_unpacked(&p3->base, NULL);
	ck_assert(both(&lrpc_pbt__p3__descriptor, merge, sizeof(merge)));

	/* protobuf-c's merge looks up the unset oneof and gives up. */
	ck_assert_ptr_null(protobuf_c_message_unpack(&lrpc_pbt__p2__descriptor,
						     NULL, sizeof(oneof_merge),
						     oneof_merge));
	ck_assert(both(&lrpc_pbt__p2__descriptor, oneof_merge,
		       sizeof(oneof_merge)));
}
END_TEST

/* Best of five rounds each, taking turns, so that neither pays alone for
 * malloc warming up. Numbers only: no pass or fail. */
static void race(const char *what, const ProtobufCMessageDescriptor *desc,
		 int n, uint8_t *const *in, const size_t *len, int reps)
{
	double t, ours = 1e9, theirs = 1e9;

	for (int round = 0; round < 5; round++) {
		t = now();
		for (int r = 0; r < reps; r++)
			for (int i = 0; i < n; i++)
				protobuf_c_message_free_unpacked(
					decode_keep(desc, NULL, len[i],
							in[i]),
					NULL);
		t = (now() - t) / reps;
		ours = t < ours ? t : ours;
		t = now();
		for (int r = 0; r < reps; r++)
			for (int i = 0; i < n; i++)
				protobuf_c_message_free_unpacked(
					protobuf_c_message_unpack(desc, NULL,
								  len[i],
								  in[i]),
					NULL);
		t = (now() - t) / reps;
		theirs = t < theirs ? t : theirs;
	}
	printf("speed: %s: lrpc__pb_decode %.1f us, "
	       "protobuf_c_message_unpack %.1f us\n",
	       what, ours * 1e6, theirs * 1e6);
}

START_TEST(speed)
{
	size_t n = 1 << 20, len[200];
	uint8_t *in[200];
	char what[64];

#ifdef __SANITIZE_ADDRESS__
	/* Only we would pay for the instrumentation. */
	printf("speed: not measured under AddressSanitizer\n");
	return;
#endif

	in[0] = malloc(n + 16);
	len[0] = put_tag(in[0], 16, 2);
	len[0] += put_varint(in[0] + len[0], n);
	memset(in[0] + len[0], 0x5a, n);
	len[0] += n;
	race("1 MiB bytes field", &lrpc_pbt__p3__descriptor, 1, in, len, 10);
	free(in[0]);

	in[0] = many_int32(true, 100000, &len[0]);
	race("100k packed int32s", &lrpc_pbt__p3__descriptor, 1, in, len, 10);
	free(in[0]);
	in[0] = many_int32(false, 100000, &len[0]);
	race("100k unpacked int32s", &lrpc_pbt__p3__descriptor, 1, in, len, 10);
	free(in[0]);

	seed(6);
	n = 0;
	for (int i = 0; i < 200; i++) {
		ProtobufCMessage *m = gen_msg(&lrpc_pbt__p2__descriptor, 0);

		in[i] = pack(m, &len[i]);
		n += len[i];
		protobuf_c_message_free_unpacked(m, NULL);
	}
	snprintf(what, sizeof(what), "200 random P2 messages, %zu bytes", n);
	race(what, &lrpc_pbt__p2__descriptor, 200, in, len, 3);
	for (int i = 0; i < 200; i++)
		free(in[i]);
}
END_TEST

CHECK_MAIN("pbdecode", 60,
	   empty_input,
	   one_mib_bytes_is_one_allocation,
	   hundred_thousand_int32s,
	   depth_limit,
	   length_prefix_beyond_the_end,
	   varint_lengths,
	   wire_types,
	   unknown_fields_round_trip,
	   unknown_fields_cost_nothing,
	   budget_refuses_empty_lists,
	   budget_fits_dense_lists,
	   oneof_switches,
	   required_fields,
	   replaced_strings_and_bytes_are_freed,
	   documented_differences,
	   differential_random_messages,
	   every_allocation_failure_unwinds,
	   mutated_encodings_agree,
	   odd_wire_data_agrees,
	   hostile_writer_cannot_hurt,
	   speed)
