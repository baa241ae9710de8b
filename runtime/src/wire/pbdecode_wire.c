// SPDX-License-Identifier: MIT
/* Wire values of the single-pass decoder: see pbdecode_wire.h. */
#include <limits.h>
#include <string.h>

#include "wire/pbdecode.h"
#include "wire/pbdecode_wire.h"

bool lrpc__pb_read_value(const volatile uint8_t *in, size_t *pos, size_t end,
			 struct wval *v)
{
	unsigned k, any, width;

	v->any = false;
	switch (v->wt) {
	case WT_VARINT:
		k = lrpc__pb_read_varint(in, *pos, end, 10, &v->u, &any, v->raw);
		if (!k)
			return false;
		v->any = any != 0;
		v->nraw = k;
		*pos += k;
		return true;
	case WT_64BIT:
	case WT_32BIT:
		width = v->wt == WT_64BIT ? 8 : 4;
		if (end - *pos < width)
			return false;
		v->u = 0;
		for (unsigned i = 0; i < width; i++) {
			uint8_t b = in[*pos + i];

			v->raw[i] = b;
			v->u |= (uint64_t)b << (8 * i);
		}
		v->nraw = width;
		*pos += width;
		return true;
	case WT_LEN:
		k = lrpc__pb_read_varint(in, *pos, end, 5, &v->u, &any, v->raw);
		if (!k)
			return false;
		*pos += k;
		/* Checked before anything is allocated for it. */
		if (v->u > INT_MAX || v->u > end - *pos)
			return false;
		v->nraw = k;
		v->off = *pos;
		v->n = (size_t)v->u;
		*pos += v->n;
		return true;
	default:
		return false;
	}
}

size_t lrpc__pb_elt_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

bool lrpc__pb_is_len_type(ProtobufCType t)
{
	return t == PROTOBUF_C_TYPE_STRING || t == PROTOBUF_C_TYPE_BYTES ||
	       t == PROTOBUF_C_TYPE_MESSAGE;
}

bool lrpc__pb_put_scalar(ProtobufCType t, unsigned wt, uint64_t u, bool any,
			 void *dst)
{
	uint32_t u32 = (uint32_t)u;
	protobuf_c_boolean b;

	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM:
		if (wt != WT_VARINT)
			return false;
		memcpy(dst, &u32, 4);
		return true;
	case PROTOBUF_C_TYPE_SINT32:
		if (wt != WT_VARINT)
			return false;
		u32 = (u32 >> 1) ^ (0u - (u32 & 1));
		memcpy(dst, &u32, 4);
		return true;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		if (wt != WT_VARINT)
			return false;
		memcpy(dst, &u, 8);
		return true;
	case PROTOBUF_C_TYPE_SINT64:
		if (wt != WT_VARINT)
			return false;
		u = (u >> 1) ^ (0u - (u & 1));
		memcpy(dst, &u, 8);
		return true;
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		if (wt != WT_32BIT)
			return false;
		memcpy(dst, &u32, 4);
		return true;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		if (wt != WT_64BIT)
			return false;
		memcpy(dst, &u, 8);
		return true;
	case PROTOBUF_C_TYPE_BOOL:
		if (wt != WT_VARINT)
			return false;
		b = any;
		memcpy(dst, &b, sizeof(b));
		return true;
	default:
		return false;
	}
}
