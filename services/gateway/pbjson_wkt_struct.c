// SPDX-License-Identifier: MIT
/*
 * google.protobuf.Struct, Value and ListValue: any JSON, carried as
 *   Struct    { map<string, Value> fields = 1; }
 *   Value     { oneof kind { NullValue null_value = 1; double number_value = 2;
 *               string string_value = 3; bool bool_value = 4;
 *               Struct struct_value = 5; ListValue list_value = 6; } }
 *   ListValue { repeated Value values = 1; }
 * Numbers become doubles, as the mapping says. Nesting counts against
 * PBJSON_MAX_DEPTH both ways; peer bytes are checked as everywhere else,
 * and a number JSON cannot carry (NaN, infinities) is refused.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pbjson_wkt.h"

static int too_deep(char *err)
{
	snprintf(err, PBJSON_ERR_MAX, "google.protobuf.Struct nested deeper than %d",
		 PBJSON_MAX_DEPTH);
	return -EINVAL;
}

static int enc_value(const json_t *j, struct pbw_buf *out, unsigned int depth, char *err);

/* \p j as a nested message: field \p num's tag, length and bytes. */
static int enc_nested(enum pbjson_wkt kind, uint32_t num, const json_t *j,
		      struct pbw_buf *out, unsigned int depth, char *err)
{
	struct pbw_buf sub = { 0 };
	int ret = pbjson__struct_encode(kind, j, &sub, depth + 1, err);

	if (!ret) {
		pbw_tag(out, num, PBW_LEN);
		pbw_bytes(out, sub.d, sub.len);
		ret = sub.oom ? -ENOMEM : 0;
	}
	free(sub.d);
	return ret;
}

static int enc_value(const json_t *j, struct pbw_buf *out, unsigned int depth, char *err)
{
	double d;

	switch (json_typeof(j)) {
	case JSON_NULL:
		pbw_tag(out, 1, PBW_VARINT);
		pbw_varint(out, 0);
		break;
	case JSON_INTEGER:
	case JSON_REAL: {
		uint64_t bits;

		d = json_number_value(j);
		memcpy(&bits, &d, sizeof(bits));
		pbw_tag(out, 2, PBW_I64);
		pbw_fixed64(out, bits);
		break;
	}
	case JSON_STRING:
		pbw_tag(out, 3, PBW_LEN);
		pbw_bytes(out, json_string_value(j), json_string_length(j));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		pbw_tag(out, 4, PBW_VARINT);
		pbw_varint(out, json_is_true(j));
		break;
	case JSON_OBJECT:
		return enc_nested(PBJSON_WKT_STRUCT, 5, j, out, depth, err);
	case JSON_ARRAY:
		return enc_nested(PBJSON_WKT_LIST_VALUE, 6, j, out, depth, err);
	}
	return out->oom ? -ENOMEM : 0;
}

int pbjson__struct_encode(enum pbjson_wkt kind, const json_t *j, struct pbw_buf *out,
			  unsigned int depth, char *err)
{
	const char *key;
	json_t *v;
	size_t i;
	int ret = 0;

	if (depth > PBJSON_MAX_DEPTH)
		return too_deep(err);
	switch (kind) {
	case PBJSON_WKT_VALUE:
		return enc_value(j, out, depth, err);
	case PBJSON_WKT_STRUCT:
		if (!json_is_object(j)) {
			snprintf(err, PBJSON_ERR_MAX, "google.protobuf.Struct must be an object");
			return -EINVAL;
		}
		json_object_foreach((json_t *)j, key, v) {
			struct pbw_buf entry = { 0 };

			pbw_tag(&entry, 1, PBW_LEN);
			pbw_bytes(&entry, key, strlen(key));
			ret = enc_nested(PBJSON_WKT_VALUE, 2, v, &entry, depth, err);
			if (!ret) {
				pbw_tag(out, 1, PBW_LEN);
				pbw_bytes(out, entry.d, entry.len);
				ret = entry.oom ? -ENOMEM : 0;
			}
			free(entry.d);
			if (ret)
				return ret;
		}
		return out->oom ? -ENOMEM : 0;
	case PBJSON_WKT_LIST_VALUE:
		if (!json_is_array(j)) {
			snprintf(err, PBJSON_ERR_MAX, "google.protobuf.ListValue must be an array");
			return -EINVAL;
		}
		json_array_foreach(j, i, v) {
			ret = enc_nested(PBJSON_WKT_VALUE, 1, v, out, depth, err);
			if (ret)
				return ret;
		}
		return 0;
	default:
		return -EINVAL;
	}
}

static int bad(const char *what, char *err)
{
	snprintf(err, PBJSON_ERR_MAX, "google.protobuf.%s is malformed", what);
	return -EINVAL;
}

/* The next field of a Struct, Value or ListValue: its number, wire type
 * and, for a LEN field, its bytes. \return 1, 0 at the end, < 0. */
static int next_field(struct pbw_reader *r, const char *what, uint32_t *num,
		      unsigned int *wt, uint64_t *v, const uint8_t **p, size_t *n, char *err)
{
	uint64_t tag;

	if (r->p >= r->end)
		return 0;
	if (!pbw_read_varint(r, &tag) || !(tag >> 3) || (tag >> 3) > 0x1fffffff)
		return bad(what, err);
	*num = (uint32_t)(tag >> 3);
	*wt = tag & 7;
	if ((*wt == PBW_VARINT && !pbw_read_varint(r, v)) ||
	    (*wt == PBW_I64 && !pbw_read_fixed64(r, v)) ||
	    (*wt == PBW_LEN && !pbw_read_len(r, p, n)) ||
	    (*wt != PBW_VARINT && *wt != PBW_I64 && *wt != PBW_LEN &&
	     !pbw_skip(r, *wt, *num, 0)))
		return bad(what, err);
	return 1;
}

static int dec_value(const uint8_t *buf, size_t len, unsigned int depth, json_t **out,
		     char *err)
{
	struct pbw_reader r = pbw_reader_of(buf, len);
	const uint8_t *p = NULL;
	unsigned int wt;
	uint32_t num;
	uint64_t v = 0;
	size_t n = 0;
	json_t *val = NULL;
	int ret;

	while ((ret = next_field(&r, "Value", &num, &wt, &v, &p, &n, err)) > 0) {
		static const unsigned int want[] = { 0, PBW_VARINT, PBW_I64, PBW_LEN,
						     PBW_VARINT, PBW_LEN, PBW_LEN };
		json_t *nv = NULL;
		double d;

		if (num > 6)
			continue; /* unknown: skipped */
		if (wt != want[num]) {
			ret = bad("Value", err);
			break;
		}
		switch (num) {
		case 1: nv = json_null(); break;
		case 2:
			memcpy(&d, &v, sizeof(d));
			if (!isfinite(d)) {
				snprintf(err, PBJSON_ERR_MAX,
					 "google.protobuf.Value holds %g, which JSON cannot carry", d);
				ret = -EINVAL;
				break;
			}
			nv = json_real(d);
			break;
		case 3:
			nv = json_stringn((const char *)p, n);
			if (!nv) {
				snprintf(err, PBJSON_ERR_MAX, "google.protobuf.Value string is not UTF-8");
				ret = -EINVAL;
			}
			break;
		case 4: nv = json_boolean(v != 0); break;
		default:
			ret = pbjson__struct_decode(num == 5 ? PBJSON_WKT_STRUCT :
						    PBJSON_WKT_LIST_VALUE, p, n, depth + 1, &nv, err);
			break;
		}
		if (ret < 0)
			break;
		if (!nv) {
			ret = -ENOMEM;
			break;
		}
		json_decref(val); /* the last member of the oneof wins */
		val = nv;
	}
	if (ret < 0) {
		json_decref(val);
		return ret;
	}
	/* No kind set: read as null, the Value a writer of defaults leaves. */
	*out = val ? val : json_null();
	return 0;
}

/* A Struct's map entry into \p obj. */
static int dec_entry(const uint8_t *buf, size_t len, unsigned int depth, json_t *obj,
		     char *err)
{
	struct pbw_reader r = pbw_reader_of(buf, len);
	const uint8_t *p = NULL, *vp = NULL, *kp = NULL;
	size_t n = 0, vn = 0, kn = 0;
	unsigned int wt;
	uint32_t num;
	uint64_t v;
	char *key;
	json_t *val;
	int ret;

	while ((ret = next_field(&r, "Struct", &num, &wt, &v, &p, &n, err)) > 0) {
		if (num > 2)
			continue;
		if (wt != PBW_LEN)
			return bad("Struct", err);
		if (num == 1)
			kp = p, kn = n;
		else
			vp = p, vn = n;
	}
	if (ret < 0)
		return ret;
	ret = dec_value(vp, vp ? vn : 0, depth + 1, &val, err);
	if (ret)
		return ret;
	key = strndup(kp ? (const char *)kp : "", kp ? kn : 0);
	if (!key) {
		json_decref(val);
		return -ENOMEM;
	}
	if (strlen(key) != kn) { /* jansson keys end at a NUL */
		free(key);
		json_decref(val);
		return bad("Struct key", err);
	}
	ret = json_object_set_new(obj, key, val);
	free(key);
	if (ret) {
		snprintf(err, PBJSON_ERR_MAX, "google.protobuf.Struct key is not UTF-8");
		return -EINVAL;
	}
	return 0;
}

int pbjson__struct_decode(enum pbjson_wkt kind, const uint8_t *buf, size_t len,
			  unsigned int depth, json_t **out, char *err)
{
	struct pbw_reader r = pbw_reader_of(buf, len);
	const uint8_t *p;
	unsigned int wt;
	uint32_t num;
	uint64_t v;
	size_t n;
	json_t *val;
	int ret;

	*out = NULL;
	if (depth > PBJSON_MAX_DEPTH)
		return too_deep(err);
	if (kind == PBJSON_WKT_VALUE)
		return dec_value(buf, len, depth, out, err);
	val = kind == PBJSON_WKT_STRUCT ? json_object() : json_array();
	if (!val)
		return -ENOMEM;
	while ((ret = next_field(&r, kind == PBJSON_WKT_STRUCT ? "Struct" : "ListValue",
				 &num, &wt, &v, &p, &n, err)) > 0) {
		json_t *item;

		if (num != 1)
			continue;
		if (wt != PBW_LEN) {
			ret = bad(kind == PBJSON_WKT_STRUCT ? "Struct" : "ListValue", err);
			break;
		}
		if (kind == PBJSON_WKT_STRUCT) {
			ret = dec_entry(p, n, depth, val, err);
		} else {
			ret = dec_value(p, n, depth + 1, &item, err);
			if (!ret && json_array_append_new(val, item))
				ret = -ENOMEM;
		}
		if (ret)
			break;
	}
	if (ret < 0) {
		json_decref(val);
		return ret;
	}
	*out = val;
	return 0;
}
