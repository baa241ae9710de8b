// SPDX-License-Identifier: MIT
/*
 * Single-pass protobuf decoding, for input that a hostile peer may rewrite
 * while we read it.
 *
 * Every byte that decides anything (tags, varints, length prefixes, single
 * fixed-width values) is loaded exactly once through a volatile pointer into
 * a local, and only the local is checked and used. What decides nothing is
 * memcpy'd: the content of bytes and string fields, of unknown fields and of
 * packed fixed-width arrays (their length came from a prefix read once).
 * Values go straight into the message being built, so nothing has to be
 * counted before it is parsed: repeated fields grow as elements arrive.
 *
 * The message under construction is at every moment one that
 * protobuf_c_message_free_unpacked() can release: a new string, array or
 * sub-message is hooked into it (count bumped, oneof case set) before
 * anything else can fail, so every error path is "free the top message".
 *
 * What is accepted follows protobuf-c 1.4.1's protobuf_c_message_unpack():
 *  - wire types 0, 1, 2 and 5 only; groups (3, 4) and 6, 7 are errors, also
 *    in unknown fields;
 *  - tags of at most 5 bytes; field numbers above 2^29 - 1 (up to 2^32 - 1)
 *    are kept as unknown fields, which protobuf-c re-packs unchanged;
 *  - varints of at most 10 bytes (bits beyond the 64th are dropped), length
 *    prefixes of at most 5 bytes and at most INT_MAX;
 *  - a known field with a wire type its type cannot have is an error (not
 *    an unknown field, as in Google's protobuf);
 *  - 32-bit integers and enums are the low 32 bits of the varint; enums are
 *    not checked against their descriptor; a bool is true when any payload
 *    bit of its varint is set, even beyond the 64th;
 *  - packable repeated fields take both encodings whatever the packed flag;
 *  - scalars, strings and bytes seen again replace the earlier value; a
 *    oneof member replaces the active member, even if it is the same one
 *    (protobuf-c does not merge a oneof sub-message sent twice, nor do we);
 *  - required fields without a default must be present, and every
 *    occurrence of a sub-message is checked on its own, even one merged into
 *    an earlier one;
 *  - with LRPC__PB_KEEP_UNKNOWN, unknown fields keep their tag, wire type
 *    and raw bytes (a length prefix included), in order, so that packing
 *    reproduces them. Without it they are checked as above and skipped.
 *
 * Deliberate differences, where protobuf-c 1.4.1 is unsafe or absurd:
 *  - a tag whose field number is 0 is an error. protobuf-c rejects it only
 *    in its one-byte form: "80 00" becomes an unknown field that it then
 *    packs as "00", which nobody accepts;
 *  - a bool must come as a varint. protobuf-c skips the wire type check for
 *    bools only and reads fixed32, fixed64 and even length-delimited data
 *    (prefix included) as a bool;
 *  - sub-messages nested deeper than LRPC__PB_MAX_DEPTH are an error.
 *    protobuf-c recurses without a limit and overflows the stack;
 *  - a message whose decoding would allocate more than lrpc__pb_budget()
 *    of its length is an error. protobuf-c allocates whatever the input
 *    asks for: 56 bytes per two-byte unknown field, and as much as a
 *    sub-message struct per two-byte empty sub-message;
 *  - a singular sub-message sent more than once is decoded into the first
 *    one, which is what the protobuf encoding rules ask for (and what
 *    protobuf-c means to do). protobuf-c decodes each occurrence separately
 *    and merges with merge_messages(), which loses the earlier value of
 *    every implicit-presence (proto3) and required scalar the later one
 *    lacks (it reads the descriptor pointer as their has flag), keeps the
 *    earlier bytes over later empty ones, can drop an earlier empty bytes
 *    field together with its has flag, and fails outright when the type has
 *    a oneof that neither occurrence sets (it looks up field number 0). So
 *    here alone we accept what protobuf-c rejects.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "wire/pbdecode.h"
#include "wire/pbdecode_wire.h"

struct dec {
	ProtobufCAllocator *a;
	const volatile uint8_t *in; /* decisions are read through this */
	const uint8_t *raw;         /* content is copied from this */
	size_t len;                 /* of the whole input */
	size_t left;                /* of the memory budget */
	bool keep_unknown;
	bool over;                  /* the budget ran out */
	bool oom;                   /* the allocator failed */
};

static void *std_alloc(void *data, size_t size)
{
	(void)data;
	return malloc(size);
}

static void std_free(void *data, void *ptr)
{
	(void)data;
	free(ptr);
}

/* What protobuf-c uses for a NULL allocator, so that either may free. */
static ProtobufCAllocator std_allocator = { std_alloc, std_free, NULL };

/* Every allocation is charged against the budget as the arena takes it
 * (rounded up to 16 bytes), and never refunded: an arena's free does
 * nothing, so what was freed still counts. */
static void *pb_alloc(struct dec *d, size_t size)
{
	size_t cost = (size + LRPC__PB_ALLOC_UNIT - 1) &
		      ~(size_t)(LRPC__PB_ALLOC_UNIT - 1);
	void *p;

	if (!cost)
		cost = size ? SIZE_MAX : LRPC__PB_ALLOC_UNIT;
	if (cost > d->left) {
		d->over = true;
		return NULL;
	}
	d->left -= cost;
	p = d->a->alloc(d->a->allocator_data, size);
	if (!p)
		d->oom = true;
	return p;
}

static void pb_free(struct dec *d, void *ptr)
{
	if (ptr)
		d->a->free(d->a->allocator_data, ptr);
}

/* The message structs keep arrays and strings as typed pointers at offsets
 * that only the descriptor knows: move them as bytes. */
static void *ld_ptr(const void *at)
{
	void *p;

	memcpy(&p, at, sizeof(p));
	return p;
}

static void st_ptr(void *at, const void *p)
{
	memcpy(at, &p, sizeof(p));
}

/*
 * The capacity of an array holding n > 0 elements. It depends on n alone,
 * so that a sub-message decoded again later (merged) can go on appending to
 * arrays that an earlier occurrence allocated: powers of two, for linear
 * total copying, but never more elements than the input has bytes, as
 * every element takes at least one.
 */
static size_t arr_cap(const struct dec *d, size_t n)
{
	size_t c = 4;

	if (n > 4)
		c = n - 1 >= SIZE_MAX / 2 ? SIZE_MAX :
		    (size_t)2 << (63 - __builtin_clzll(n - 1));
	return c < d->len ? c : d->len;
}

/*
 * Room for more elements of sz bytes after the n in the array whose pointer
 * is at arrp. \return the first free slot, NULL when out of memory; the
 * caller then counts what it put there.
 */
static void *arr_room(struct dec *d, void *arrp, size_t n, size_t more,
		      size_t sz)
{
	void *old = ld_ptr(arrp), *p;
	size_t cap = n ? arr_cap(d, n) : 0;

	if (old && more <= cap - n)
		return (char *)old + n * sz;
	if (n > d->len || more > d->len - n)
		return NULL; /* cannot happen: each element took input */
	cap = arr_cap(d, n + more);
	if (cap > SIZE_MAX / sz)
		return NULL;
	p = pb_alloc(d, cap * sz);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, old, n * sz);
	pb_free(d, old);
	st_ptr(arrp, p);
	return (char *)p + n * sz;
}

static ProtobufCMessage *new_message(struct dec *d,
				     const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m;

	if (!desc || desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC ||
	    !desc->message_init || desc->sizeof_message < sizeof(*m))
		return NULL;
	m = pb_alloc(d, desc->sizeof_message);
	if (m)
		protobuf_c_message_init(desc, m);
	return m;
}

/* Release what the value of field f at member owns, if anything. */
static void drop(struct dec *d, const ProtobufCFieldDescriptor *f,
		 const void *member)
{
	const ProtobufCBinaryData *def_bd;
	ProtobufCBinaryData bd;
	void *p;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		p = ld_ptr(member);
		if (p != f->default_value)
			pb_free(d, p);
		break;
	case PROTOBUF_C_TYPE_BYTES:
		def_bd = f->default_value;
		memcpy(&bd, member, sizeof(bd));
		if (!def_bd || bd.data != def_bd->data)
			pb_free(d, bd.data);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		p = ld_ptr(member);
		if (p && p != f->default_value)
			protobuf_c_message_free_unpacked(p, d->a);
		break;
	default:
		break;
	}
}

/*
 * Write v as field f's value into slot, which owns nothing. A sub-message is
 * only created here, empty: the caller makes it reachable from the top
 * message before filling it.
 */
static bool fresh(struct dec *d, const ProtobufCFieldDescriptor *f,
		  const struct wval *v, void *slot)
{
	ProtobufCBinaryData bd;
	ProtobufCMessage *sm;
	char *s;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		s = pb_alloc(d, v->n + 1);
		if (!s)
			return false;
		if (v->n)
			memcpy(s, d->raw + v->off, v->n);
		s[v->n] = 0;
		st_ptr(slot, s);
		return true;
	case PROTOBUF_C_TYPE_BYTES:
		bd.len = v->n;
		bd.data = NULL;
		if (v->n) {
			bd.data = pb_alloc(d, v->n);
			if (!bd.data)
				return false;
			memcpy(bd.data, d->raw + v->off, v->n);
		}
		memcpy(slot, &bd, sizeof(bd));
		return true;
	case PROTOBUF_C_TYPE_MESSAGE:
		sm = new_message(d, f->descriptor);
		if (!sm)
			return false;
		st_ptr(slot, sm);
		return true;
	default:
		return lrpc__pb_put_scalar(f->type, v->wt, v->u, v->any, slot);
	}
}

static bool decode(struct dec *d, ProtobufCMessage *m, size_t pos,
		   size_t end, unsigned depth);

static bool fill(struct dec *d, ProtobufCMessage *sm, const struct wval *v,
		 unsigned depth)
{
	return decode(d, sm, v->off, v->off + v->n, depth + 1);
}

/* A packed repeated field's payload [pos, end). */
static bool take_packed(struct dec *d, const ProtobufCFieldDescriptor *f,
			void *arrp, size_t *pn, size_t pos, size_t end)
{
	size_t sz = lrpc__pb_elt_size(f->type), count, n;
	uint64_t u;
	unsigned k, any;
	char *dst;

	switch (f->type) {
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		if ((end - pos) % sz)
			return false;
		count = (end - pos) / sz;
		if (!count)
			return true;
		dst = arr_room(d, arrp, *pn, count, sz);
		if (!dst)
			return false;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		memcpy(dst, d->raw + pos, count * sz);
#else
		for (size_t i = 0; i < count; i++, dst += sz) {
			u = 0;
			for (unsigned j = 0; j < sz; j++)
				u |= (uint64_t)d->in[pos++] << (8 * j);
			lrpc__pb_put_scalar(f->type, sz == 8 ? WT_64BIT : WT_32BIT, u,
				   false, dst);
		}
#endif
		*pn += count;
		return true;
	default:
		/* Room for one element per byte at once: growing one by one
		 * through an arena, which frees nothing, would cost twice the
		 * final array again. arr_cap() of the final count is then at
		 * most what was allocated, so later appends stay in bounds. */
		n = *pn;
		if (pos == end)
			return true;
		dst = arr_room(d, arrp, n, end - pos, sz);
		if (!dst)
			return false;
		while (pos < end) {
			k = lrpc__pb_read_varint(d->in, pos, end, 10, &u, &any, NULL);
			if (!k)
				break;
			lrpc__pb_put_scalar(f->type, WT_VARINT, u, any != 0, dst);
			dst += sz;
			n++;
			pos += k;
		}
		*pn = n;
		return pos == end; /* short of it: bad varint */
	}
}

/* Field f of m, seen with value v. */
static bool take(struct dec *d, ProtobufCMessage *m,
		 const ProtobufCFieldDescriptor *f, const struct wval *v,
		 unsigned depth)
{
	char *member = (char *)m + f->offset;
	char *quant = (char *)m + f->quantifier_offset;
	const ProtobufCFieldDescriptor *old;
	unsigned char prev[sizeof(ProtobufCBinaryData)];
	protobuf_c_boolean one = 1;
	uint32_t oneof_case;
	ProtobufCMessage *sm;
	size_t *pn;
	void *slot;

	if (lrpc__pb_is_len_type(f->type) && v->wt != WT_LEN)
		return false;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth >= LRPC__PB_MAX_DEPTH)
		return false;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		pn = (size_t *)quant;
		if (!lrpc__pb_is_len_type(f->type) && v->wt == WT_LEN)
			return take_packed(d, f, member, pn, v->off,
					   v->off + v->n);
		slot = arr_room(d, member, *pn, 1, lrpc__pb_elt_size(f->type));
		if (!slot || !fresh(d, f, v, slot))
			return false;
		(*pn)++;
		return f->type != PROTOBUF_C_TYPE_MESSAGE ||
		       fill(d, ld_ptr(slot), v, depth);
	}

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		memcpy(&oneof_case, quant, sizeof(oneof_case));
		if (oneof_case) {
			old = protobuf_c_message_descriptor_get_field(
				m->descriptor, oneof_case);
			if (!old)
				return false;
			drop(d, old, member);
			memset(member, 0, lrpc__pb_elt_size(old->type));
			oneof_case = 0;
			memcpy(quant, &oneof_case, sizeof(oneof_case));
		}
		if (!fresh(d, f, v, member))
			return false;
		oneof_case = f->id;
		memcpy(quant, &oneof_case, sizeof(oneof_case));
		return f->type != PROTOBUF_C_TYPE_MESSAGE ||
		       fill(d, ld_ptr(member), v, depth);
	}

	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		/* A later occurrence merges into the earlier one. */
		sm = ld_ptr(member);
		if (!sm || sm == f->default_value) {
			if (!fresh(d, f, v, member))
				return false;
			sm = ld_ptr(member);
		}
		return fill(d, sm, v, depth);
	}
	/* The old value goes once the new one is in: no failure between. */
	memcpy(prev, member, lrpc__pb_elt_size(f->type));
	if (!fresh(d, f, v, member))
		return false;
	drop(d, f, prev);
	if (f->label != PROTOBUF_C_LABEL_REQUIRED && f->quantifier_offset)
		memcpy(quant, &one, sizeof(one));
	return true;
}

static bool take_unknown(struct dec *d, ProtobufCMessage *m, uint32_t tag,
			 const struct wval *v)
{
	ProtobufCMessageUnknownField *uf;
	size_t n = v->nraw + (v->wt == WT_LEN ? v->n : 0);
	uint8_t *data;

	if (!d->keep_unknown)
		return true; /* read_value() checked it already */
	if (m->n_unknown_fields == UINT_MAX)
		return false;
	data = pb_alloc(d, n);
	if (!data)
		return false;
	memcpy(data, v->raw, v->nraw);
	if (v->wt == WT_LEN && v->n)
		memcpy(data + v->nraw, d->raw + v->off, v->n);
	uf = arr_room(d, &m->unknown_fields, m->n_unknown_fields, 1,
		      sizeof(*uf));
	if (!uf) {
		pb_free(d, data);
		return false;
	}
	uf->tag = tag;
	uf->wire_type = (ProtobufCWireType)v->wt;
	uf->len = n;
	uf->data = data;
	m->n_unknown_fields++;
	return true;
}

/* Field tag of desc; hint is where the previous one was found. */
static const ProtobufCFieldDescriptor *
lookup(const ProtobufCMessageDescriptor *desc, uint32_t tag, unsigned *hint)
{
	const ProtobufCFieldDescriptor *f;

	/* Fields mostly come in order, and repeated ones one after another. */
	if (*hint < desc->n_fields && desc->fields[*hint].id == tag)
		return &desc->fields[*hint];
	if (*hint + 1 < desc->n_fields && desc->fields[*hint + 1].id == tag)
		return &desc->fields[++*hint];
	f = protobuf_c_message_descriptor_get_field(desc, tag);
	if (f)
		*hint = (unsigned)(f - desc->fields);
	return f;
}

/* Decode [pos, end) into m, merging with what m already holds. */
static bool decode(struct dec *d, ProtobufCMessage *m, size_t pos,
		   size_t end, unsigned depth)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	const ProtobufCFieldDescriptor *f;
	uint64_t seen_stack[4], *seen = seen_stack;
	size_t nseen = (desc->n_fields + 63) / 64;
	unsigned hint = 0, k, any, i;
	bool ok = false;
	struct wval v;
	uint64_t key;
	uint32_t tag;

	/* Required fields seen in this occurrence. */
	if (nseen > sizeof(seen_stack) / sizeof(seen_stack[0])) {
		seen = pb_alloc(d, nseen * sizeof(*seen));
		if (!seen)
			return false;
	}
	memset(seen, 0, nseen * sizeof(*seen));

	while (pos < end) {
		k = lrpc__pb_read_varint(d->in, pos, end, 5, &key, &any, NULL);
		if (!k)
			goto out;
		pos += k;
		tag = (uint32_t)(key >> 3);
		if (!tag)
			goto out;
		v.wt = key & 7;
		if (!lrpc__pb_read_value(d->in, &pos, end, &v))
			goto out;
		f = lookup(desc, tag, &hint);
		if (!f) {
			if (!take_unknown(d, m, tag, &v))
				goto out;
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REQUIRED)
			seen[hint / 64] |= 1ull << (hint % 64);
		if (!take(d, m, f, &v, depth))
			goto out;
	}

	for (i = 0; i < desc->n_fields; i++) {
		f = &desc->fields[i];
		if (f->label == PROTOBUF_C_LABEL_REQUIRED &&
		    !f->default_value && !(seen[i / 64] >> (i % 64) & 1))
			goto out;
	}
	ok = true;
out:
	if (seen != seen_stack)
		pb_free(d, seen);
	return ok;
}

size_t lrpc__pb_budget(size_t len)
{
	if (len > (SIZE_MAX - LRPC__PB_MEM_BASE) / LRPC__PB_MEM_PER_BYTE)
		return SIZE_MAX;
	return len * LRPC__PB_MEM_PER_BYTE + LRPC__PB_MEM_BASE;
}

ProtobufCMessage *lrpc__pb_decode_flags(const ProtobufCMessageDescriptor *desc,
					ProtobufCAllocator *alloc, size_t len,
					const uint8_t *data, unsigned flags)
{
	struct dec d = {
		.a = alloc ? alloc : &std_allocator,
		.in = data,
		.raw = data,
		.len = len,
		.left = lrpc__pb_budget(len),
		.keep_unknown = flags & LRPC__PB_KEEP_UNKNOWN,
	};
	ProtobufCMessage *m;

	if (len && !data) {
		errno = EINVAL;
		return NULL;
	}
	m = new_message(&d, desc);
	if (m && decode(&d, m, 0, len, 0))
		return m;
	if (m)
		protobuf_c_message_free_unpacked(m, d.a);
	errno = d.over ? E2BIG : d.oom ? ENOMEM : EBADMSG;
	return NULL;
}

ProtobufCMessage *lrpc__pb_decode(const ProtobufCMessageDescriptor *desc,
				  ProtobufCAllocator *alloc, size_t len,
				  const uint8_t *data)
{
	return lrpc__pb_decode_flags(desc, alloc, len, data, 0);
}
