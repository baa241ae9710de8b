// SPDX-License-Identifier: MIT
/* Judging a decode, for test_pbdecode and the decoder fuzzer (pbcheck.h). */
#include <limits.h>
#include <string.h>

#include "pbcheck.h"
#include "wire/pbdecode.h"

/* A varint of at most max bytes. \return its length, 0 if bad. */
static size_t scan_varint(const uint8_t *p, size_t len, size_t max,
			  uint64_t *v)
{
	uint64_t u = 0;

	for (size_t i = 0; i < len && i < max; i++) {
		u |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = u;
			return i + 1;
		}
	}
	return 0;
}

size_t pbt_scan_field(const uint8_t *p, size_t len, uint32_t *tag,
		      unsigned *wt, bool *multi, size_t *off, size_t *n)
{
	uint64_t key, v;
	size_t k, j;

	if (!len || !(p[0] & 0xf8))
		return 0;
	k = scan_varint(p, len, 5, &key);
	if (!k)
		return 0;
	*tag = (uint32_t)(key >> 3);
	*wt = key & 7;
	*multi = k > 1;
	switch (*wt) {
	case 0:
		j = scan_varint(p + k, len - k, 10, &v);
		return j ? k + j : 0;
	case 1:
		return len - k >= 8 ? k + 8 : 0;
	case 5:
		return len - k >= 4 ? k + 4 : 0;
	case 2:
		j = scan_varint(p + k, len - k, 5, &v);
		if (!j || v > INT_MAX || v > len - k - j)
			return 0;
		*off = k + j;
		*n = v;
		return k + j + v;
	default:
		return 0;
	}
}

static bool has_oneof(const ProtobufCMessageDescriptor *desc)
{
	for (unsigned i = 0; i < desc->n_fields; i++)
		if (desc->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			return true;
	return false;
}

unsigned pbt_quirks(const ProtobufCMessageDescriptor *desc,
		       const uint8_t *p, size_t len, unsigned depth)
{
	unsigned q = 0, nmsg[256] = { 0 };
	size_t pos = 0, k, off = 0, n = 0;
	uint32_t tag;
	unsigned wt;
	bool multi;

	if (depth > LRPC__PB_MAX_DEPTH)
		return Q_DEPTH;
	while (pos < len) {
		const ProtobufCFieldDescriptor *f;

		k = pbt_scan_field(p + pos, len - pos, &tag, &wt, &multi, &off, &n);
		if (!k)
			break;
		if (!tag)
			q |= Q_TAG0;
		f = protobuf_c_message_descriptor_get_field(desc, tag);
		if (f && f->type == PROTOBUF_C_TYPE_BOOL && wt != 0 &&
		    !(f->label == PROTOBUF_C_LABEL_REPEATED && wt == 2))
			q |= Q_BOOL;
		if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && wt == 2) {
			if (f->label != PROTOBUF_C_LABEL_REPEATED &&
			    !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    nmsg[(f - desc->fields) % 256]++)
				q |= has_oneof(f->descriptor) ?
					     Q_DUPMSG | Q_DUPONEOF : Q_DUPMSG;
			q |= pbt_quirks(f->descriptor, p + pos + off, n, depth + 1);
		}
		pos += k;
	}
	return q;
}

bool pbt_no_unknown(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;

	if (m->n_unknown_fields)
		return false;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *at = (const char *)m + f->offset;
		const char *q = (const char *)m + f->quantifier_offset;
		ProtobufCMessage **arr, *sm;
		uint32_t oneof_case;
		size_t n;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			memcpy(&n, q, sizeof(n));
			memcpy(&arr, at, sizeof(arr));
			for (size_t k = 0; k < n; k++)
				if (!pbt_no_unknown(arr[k]))
					return false;
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			memcpy(&oneof_case, q, sizeof(oneof_case));
			if (oneof_case != f->id)
				continue;
		}
		memcpy(&sm, at, sizeof(sm));
		if (sm && !pbt_no_unknown(sm))
			return false;
	}
	return true;
}
