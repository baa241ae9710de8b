// SPDX-License-Identifier: MIT
/*
 * JSON -> protobuf wire bytes, by the proto3 JSON mapping
 * (protobuf.dev/programming-guides/json): fields by lowerCamelCase or
 * .proto name, null as absent, 64-bit integers as numbers or strings,
 * bytes in standard or URL-safe base64, enums by name or number, arrays
 * for repeated fields (numbers packed), objects for maps and messages.
 * The JSON has been parsed by jansson; this walks it against the
 * descriptors and refuses, naming the field, what does not fit. The
 * well-known types' own forms are pbjson_wkt*.c's; Any and the wrappers,
 * which reuse this file's message and scalar code, are here.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"
#include "pbjson_wire.h"
#include "pbjson_wkt.h"

typedef Google__Protobuf__FieldDescriptorProto field_t;

struct enc {
	const pbjson_pool *p;
	const pbjson_opts *o;
	char *err;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct enc *e, const field_t *f, const char *fmt, ...)
{
	char why[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(e->err, PBJSON_ERR_MAX, "field %s: %s", f ? f->name : "?", why);
	return -EINVAL;
}

/* A JSON number or numeric string as an integer in [min, max] (min < 0:
 * signed). Numbers with a fraction or out of range are refused. */
static int json_int(struct enc *e, const field_t *f, const json_t *j, bool is_signed,
		    int64_t min, uint64_t max, uint64_t *out)
{
	if (json_is_integer(j)) {
		json_int_t v = json_integer_value(j);

		if (v < 0 ? (!is_signed || v < min) : (uint64_t)v > max)
			return fail(e, f, "%lld is out of range", (long long)v);
		*out = (uint64_t)v;
		return 0;
	}
	if (json_is_real(j)) {
		double d = json_real_value(j);

		if (d != floor(d) || d < (double)min || d >= 18446744073709551616.0 ||
		    (d >= 0 && (uint64_t)d > max))
			return fail(e, f, "%g is not an integer in range", d);
		*out = d < 0 ? (uint64_t)(int64_t)d : (uint64_t)d;
		return 0;
	}
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		char *end;

		errno = 0;
		if (!*s || *s == ' ' || *s == '+' || (!is_signed && *s == '-'))
			return fail(e, f, "\"%.40s\" is not an integer", s);
		if (is_signed) {
			long long v = strtoll(s, &end, 10);

			if (errno || *end || v < min || (v > 0 && (uint64_t)v > max))
				return fail(e, f, "\"%.40s\" is not an integer in range", s);
			*out = (uint64_t)v;
		} else {
			unsigned long long v = strtoull(s, &end, 10);

			if (errno || *end || v > max)
				return fail(e, f, "\"%.40s\" is not an integer in range", s);
			*out = v;
		}
		return 0;
	}
	return fail(e, f, "expected an integer");
}

static int json_float(struct enc *e, const field_t *f, const json_t *j, bool is_float,
		      double *out)
{
	if (json_is_number(j)) {
		*out = json_number_value(j);
	} else if (json_is_string(j)) {
		const char *s = json_string_value(j);
		char *end;

		if (!strcmp(s, "NaN"))
			*out = NAN;
		else if (!strcmp(s, "Infinity"))
			*out = INFINITY;
		else if (!strcmp(s, "-Infinity"))
			*out = -INFINITY;
		else {
			*out = strtod(s, &end);
			if (!*s || *end || isnan(*out) || isinf(*out))
				return fail(e, f, "\"%.40s\" is not a number", s);
		}
		return 0;
	} else {
		return fail(e, f, "expected a number");
	}
	if (is_float && isfinite(*out) && fabs(*out) > FLT_MAX)
		return fail(e, f, "%g is out of range for a float", *out);
	return 0;
}

static int enum_value(struct enc *e, const field_t *f, const json_t *j, uint64_t *out)
{
	const Google__Protobuf__EnumDescriptorProto *en = pbjson__field_enum(e->p, f);

	if (!en)
		return fail(e, f, "enum type %s is not known", f->type_name ? f->type_name : "?");
	if (json_is_string(j)) {
		for (size_t i = 0; i < en->n_value; i++)
			if (en->value[i]->name && !strcmp(en->value[i]->name, json_string_value(j))) {
				*out = (uint64_t)(int64_t)en->value[i]->number;
				return 0;
			}
		return fail(e, f, "\"%.40s\" is not a value of %s", json_string_value(j), en->name);
	}
	if (!json_is_integer(j))
		return fail(e, f, "expected an enum name or number");
	return json_int(e, f, j, true, INT32_MIN, INT32_MAX, out);
}

/* A scalar's value (no tag) into \p b; \return its wire type, or < 0. */
static int enc_scalar(struct enc *e, const field_t *f, const json_t *j, struct pbw_buf *b)
{
	uint64_t v;
	double d;
	int ret;

	switch (f->type) {
	case PBW_INT32:
		if ((ret = json_int(e, f, j, true, INT32_MIN, INT32_MAX, &v)))
			return ret;
		pbw_varint(b, (uint64_t)(int64_t)(int32_t)v);
		return PBW_VARINT;
	case PBW_SINT32:
		if ((ret = json_int(e, f, j, true, INT32_MIN, INT32_MAX, &v)))
			return ret;
		pbw_varint(b, pbw_zigzag((int64_t)(int32_t)v));
		return PBW_VARINT;
	case PBW_SFIXED32:
		if ((ret = json_int(e, f, j, true, INT32_MIN, INT32_MAX, &v)))
			return ret;
		pbw_fixed32(b, (uint32_t)v);
		return PBW_I32;
	case PBW_UINT32:
	case PBW_FIXED32:
		if ((ret = json_int(e, f, j, false, 0, UINT32_MAX, &v)))
			return ret;
		if (f->type == PBW_FIXED32) {
			pbw_fixed32(b, (uint32_t)v);
			return PBW_I32;
		}
		pbw_varint(b, v);
		return PBW_VARINT;
	case PBW_INT64:
	case PBW_SINT64:
	case PBW_SFIXED64:
		if ((ret = json_int(e, f, j, true, INT64_MIN, INT64_MAX, &v)))
			return ret;
		if (f->type == PBW_SFIXED64) {
			pbw_fixed64(b, v);
			return PBW_I64;
		}
		pbw_varint(b, f->type == PBW_SINT64 ? pbw_zigzag((int64_t)v) : v);
		return PBW_VARINT;
	case PBW_UINT64:
	case PBW_FIXED64:
		if ((ret = json_int(e, f, j, false, 0, UINT64_MAX, &v)))
			return ret;
		if (f->type == PBW_FIXED64) {
			pbw_fixed64(b, v);
			return PBW_I64;
		}
		pbw_varint(b, v);
		return PBW_VARINT;
	case PBW_BOOL:
		if (!json_is_boolean(j))
			return fail(e, f, "expected true or false");
		pbw_varint(b, json_is_true(j));
		return PBW_VARINT;
	case PBW_ENUM:
		if ((ret = enum_value(e, f, j, &v)))
			return ret;
		pbw_varint(b, v);
		return PBW_VARINT;
	case PBW_FLOAT: {
		float fl;
		uint32_t u;

		if ((ret = json_float(e, f, j, true, &d)))
			return ret;
		fl = (float)d;
		memcpy(&u, &fl, 4);
		pbw_fixed32(b, u);
		return PBW_I32;
	}
	case PBW_DOUBLE: {
		uint64_t u;

		if ((ret = json_float(e, f, j, false, &d)))
			return ret;
		memcpy(&u, &d, 8);
		pbw_fixed64(b, u);
		return PBW_I64;
	}
	default:
		return fail(e, f, "field type %d is not supported", f->type);
	}
}

static int enc_msg(struct enc *e, const pbjson_msg *m, const json_t *obj,
		   struct pbw_buf *out, unsigned int depth);
static int enc_one(struct enc *e, const field_t *f, const json_t *j, struct pbw_buf *b,
		   unsigned int depth);
static int enc_wkt(struct enc *e, const field_t *f, const char *type_name, const json_t *j,
		   struct pbw_buf *out, unsigned int depth);

/* A JSON null is the field's absence, except for google.protobuf.Value,
 * whose null is a value of its own. */
static bool null_is_absent(const field_t *f)
{
	return f->type != PBW_MESSAGE || pbjson__wkt_kind(f->type_name) != PBJSON_WKT_VALUE;
}

/* Prefixes the reason in e->err with \p f's name (when there is one). */
static int in_field(struct enc *e, const field_t *f, int ret)
{
	char why[PBJSON_ERR_MAX];

	if (ret != -EINVAL || !f)
		return ret;
	snprintf(why, sizeof(why), "%s", e->err);
	return fail(e, f, "%.120s", why);
}

/* google.protobuf.Any: {"@type": "type.googleapis.com/pkg.Msg", fields...},
 * or {"@type": ..., "value": ...} when it packs a well-known type. The
 * packed type must be in the pool. Appends the Any's bytes to \p out. */
static int enc_any(struct enc *e, const field_t *f, const json_t *j, struct pbw_buf *out,
		   unsigned int depth)
{
	const json_t *type = json_object_get(j, "@type");
	struct pbw_buf val = { 0 };
	const char *url, *name;
	int ret;

	if (!json_is_object(j))
		return fail(e, f, "expected an object with \"@type\" (google.protobuf.Any)");
	if (!type) {
		if (json_object_size(j))
			return fail(e, f, "google.protobuf.Any needs \"@type\"");
		return 0;
	}
	url = json_string_value(type);
	name = url ? strrchr(url, '/') : NULL;
	if (!name || !name[1] || strlen(url) != json_string_length(type))
		return fail(e, f, "\"@type\" must be a type URL (\"type.googleapis.com/pkg.Msg\")");
	name++;
	if (pbjson__wkt_kind(name) != PBJSON_WKT_NONE) {
		const json_t *v = json_object_get(j, "value");

		if (!v || json_object_size(j) != 2)
			return fail(e, f, "an Any of %.60s has \"@type\" and \"value\" only", name);
		ret = enc_wkt(e, f, name, v, &val, depth + 1);
	} else {
		const pbjson_msg *m = pbjson_find_msg(e->p, name);
		json_t *rest;

		if (!m)
			return fail(e, f, "Any packs %.80s, a type not known here", name);
		rest = json_copy((json_t *)j);
		if (!rest || json_object_del(rest, "@type")) {
			json_decref(rest);
			return -ENOMEM;
		}
		ret = enc_msg(e, m, rest, &val, depth + 1);
		json_decref(rest);
	}
	if (!ret) {
		pbw_tag(out, 1, PBW_LEN);
		pbw_bytes(out, url, strlen(url));
		pbw_tag(out, 2, PBW_LEN);
		pbw_bytes(out, val.d, val.len);
		ret = out->oom || val.oom ? -ENOMEM : 0;
	}
	free(val.d);
	return ret;
}

/* A message of a well-known type with a JSON form of its own, as the
 * message's bytes (no tag) into \p out. \return 0, < 0, or 1: an
 * ordinary message, for enc_msg(). */
static int enc_wkt(struct enc *e, const field_t *f, const char *type_name, const json_t *j,
		   struct pbw_buf *out, unsigned int depth)
{
	enum pbjson_wkt kind = pbjson__wkt_kind(type_name);
	field_t value;

	if (kind == PBJSON_WKT_NONE)
		return 1;
	if (depth > PBJSON_MAX_DEPTH) {
		snprintf(e->err, PBJSON_ERR_MAX, "messages nested deeper than %d",
			 PBJSON_MAX_DEPTH);
		return -EINVAL;
	}
	switch (kind) {
	case PBJSON_WKT_WRAPPER:
		/* The wrapped scalar, under the name of the field that holds it,
		 * so that its errors name that field. */
		value = *pbjson__wkt_wrapper(type_name)->field[0];
		if (f)
			value.name = f->name;
		return enc_one(e, &value, j, out, depth);
	case PBJSON_WKT_ANY:
		return enc_any(e, f, j, out, depth);
	default:
		return in_field(e, f, pbjson__wkt_encode(kind, j, out, depth, e->err));
	}
}

/* One value of field \p f, with its tag. */
static int enc_one(struct enc *e, const field_t *f, const json_t *j, struct pbw_buf *b,
		   unsigned int depth)
{
	uint32_t num = (uint32_t)f->number;
	struct pbw_buf sub = { 0 };
	int ret;

	switch (f->type) {
	case PBW_STRING:
		if (!json_is_string(j))
			return fail(e, f, "expected a string");
		pbw_tag(b, num, PBW_LEN);
		pbw_bytes(b, json_string_value(j), json_string_length(j));
		return 0;
	case PBW_BYTES: {
		size_t n;

		if (!json_is_string(j))
			return fail(e, f, "expected a base64 string");
		sub.cap = json_string_length(j) / 4 * 3 + 3;
		sub.d = malloc(sub.cap);
		if (!sub.d)
			return -ENOMEM;
		if (pbw_b64_decode(json_string_value(j), json_string_length(j), sub.d, &n)) {
			free(sub.d);
			return fail(e, f, "not base64");
		}
		pbw_tag(b, num, PBW_LEN);
		pbw_bytes(b, sub.d, n);
		free(sub.d);
		return 0;
	}
	case PBW_MESSAGE: {
		const pbjson_msg *m = pbjson__field_msg(e->p, f);

		ret = enc_wkt(e, f, f->type_name, j, &sub, depth + 1);
		if (ret == 1 && !m)
			return fail(e, f, "message type %s is not known",
				    f->type_name ? f->type_name : "?");
		if (ret == 1 && !json_is_object(j))
			return fail(e, f, "expected an object");
		if (ret == 1)
			ret = enc_msg(e, m, j, &sub, depth + 1);
		if (ret == 0) {
			pbw_tag(b, num, PBW_LEN);
			pbw_bytes(b, sub.d, sub.len);
			ret = sub.oom ? -ENOMEM : 0;
		}
		free(sub.d);
		return ret;
	}
	default:
		ret = enc_scalar(e, f, j, &sub);
		if (ret >= 0) {
			pbw_tag(b, num, (unsigned int)ret);
			pbw_put(b, sub.d, sub.len);
			ret = sub.oom ? -ENOMEM : 0;
		}
		free(sub.d);
		return ret;
	}
}

static const field_t *field_by_number(const pbjson_msg *m, int32_t n)
{
	for (size_t i = 0; i < m->n_field; i++)
		if (m->field[i]->number == n)
			return m->field[i];
	return NULL;
}

/* A map key from its JSON object key, by the key field's type. */
static int map_key(struct enc *e, const field_t *kf, const char *key, json_t **out)
{
	switch (kf->type) {
	case PBW_STRING:
		*out = json_string(key);
		break;
	case PBW_BOOL:
		if (strcmp(key, "true") && strcmp(key, "false"))
			return fail(e, kf, "map key \"%.40s\" is not true or false", key);
		*out = json_boolean(!strcmp(key, "true"));
		break;
	default:
		*out = json_string(key); /* the integer parser takes strings */
		break;
	}
	return *out ? 0 : -ENOMEM;
}

static int enc_map(struct enc *e, const field_t *f, const pbjson_msg *entry,
		   const json_t *obj, struct pbw_buf *b, unsigned int depth)
{
	const field_t *kf = field_by_number(entry, 1), *vf = field_by_number(entry, 2);
	const char *key;
	json_t *val;

	if (!kf || !vf)
		return fail(e, f, "map entry type is malformed");
	if (!json_is_object(obj))
		return fail(e, f, "expected an object (a map)");
	json_object_foreach((json_t *)obj, key, val) {
		struct pbw_buf sub = { 0 };
		json_t *k = NULL;
		int ret = map_key(e, kf, key, &k);

		if (ret)
			return ret;
		ret = enc_one(e, kf, k, &sub, depth);
		json_decref(k);
		if (!ret && (!json_is_null(val) || !null_is_absent(vf)))
			ret = enc_one(e, vf, val, &sub, depth + 1);
		if (!ret) {
			pbw_tag(b, (uint32_t)f->number, PBW_LEN);
			pbw_bytes(b, sub.d, sub.len);
			ret = sub.oom ? -ENOMEM : 0;
		}
		free(sub.d);
		if (ret == -EINVAL) {
			char why[PBJSON_ERR_MAX];

			snprintf(why, sizeof(why), "%s", e->err);
			snprintf(e->err, PBJSON_ERR_MAX, "map %s: %.150s", f->name, why);
		}
		if (ret)
			return ret;
	}
	return 0;
}

static bool packable(const field_t *f)
{
	return f->type != PBW_STRING && f->type != PBW_BYTES && f->type != PBW_MESSAGE &&
	       f->type != PBW_GROUP;
}

static int enc_repeated(struct enc *e, const field_t *f, const json_t *arr,
			struct pbw_buf *b, unsigned int depth)
{
	struct pbw_buf packed = { 0 };
	size_t i;
	json_t *v;
	int ret = 0;

	if (!json_is_array(arr))
		return fail(e, f, "expected an array");
	json_array_foreach(arr, i, v) {
		if (json_is_null(v) && null_is_absent(f))
			ret = fail(e, f, "null in an array");
		else if (packable(f))
			ret = enc_scalar(e, f, v, &packed) < 0 ? -EINVAL : 0;
		else
			ret = enc_one(e, f, v, b, depth);
		if (ret)
			break;
	}
	if (!ret && packed.len) {
		pbw_tag(b, (uint32_t)f->number, PBW_LEN);
		pbw_bytes(b, packed.d, packed.len);
	}
	ret = !ret && packed.oom ? -ENOMEM : ret;
	free(packed.d);
	return ret;
}

static const field_t *field_by_json(const pbjson_msg *m, const char *key)
{
	char buf[256];

	for (size_t i = 0; i < m->n_field; i++) {
		const field_t *f = m->field[i];

		if ((f->name && !strcmp(f->name, key)) ||
		    !strcmp(pbjson__json_name(f, buf, sizeof(buf)), key))
			return f;
	}
	return NULL;
}

static int enc_msg(struct enc *e, const pbjson_msg *m, const json_t *obj,
		   struct pbw_buf *out, unsigned int depth)
{
	const field_t **oneof_set = NULL;
	const char *key;
	json_t *val;
	int ret = 0;

	if (depth > PBJSON_MAX_DEPTH) {
		snprintf(e->err, PBJSON_ERR_MAX, "messages nested deeper than %d",
			 PBJSON_MAX_DEPTH);
		return -EINVAL;
	}
	if (m->n_oneof_decl) {
		oneof_set = calloc(m->n_oneof_decl, sizeof(*oneof_set));
		if (!oneof_set)
			return -ENOMEM;
	}
	json_object_foreach((json_t *)obj, key, val) {
		const field_t *f = field_by_json(m, key);
		bool absent;

		if (!f) {
			if (e->o && e->o->ignore_unknown)
				continue;
			snprintf(e->err, PBJSON_ERR_MAX, "%s has no field \"%.60s\"", m->name, key);
			ret = -EINVAL;
			break;
		}
		absent = json_is_null(val) && null_is_absent(f);
		if (f->has_oneof_index && (size_t)f->oneof_index < m->n_oneof_decl && !absent) {
			const field_t **slot = &oneof_set[f->oneof_index];

			if (*slot && *slot != f) {
				ret = fail(e, f, "oneof %s already has %s set",
					   m->oneof_decl[f->oneof_index]->name, (*slot)->name);
				break;
			}
			*slot = f;
		}
		if (absent)
			continue;
		if (f->label == PBW_LABEL_REPEATED) {
			const pbjson_msg *t = f->type == PBW_MESSAGE ? pbjson__field_msg(e->p, f) : NULL;

			ret = t && pbjson__is_map_entry(t) ?
				enc_map(e, f, t, val, out, depth) :
				enc_repeated(e, f, val, out, depth);
		} else {
			ret = enc_one(e, f, val, out, depth);
		}
		if (ret)
			break;
	}
	free(oneof_set);
	return ret ? ret : out->oom ? -ENOMEM : 0;
}

int pbjson_encode(const pbjson_pool *p, const pbjson_msg *m, const json_t *json,
		  const pbjson_opts *opts, uint8_t **out, size_t *out_len,
		  char err[PBJSON_ERR_MAX])
{
	struct enc e = { p, opts, err };
	struct pbw_buf b = { 0 };
	int ret;

	*out = NULL;
	*out_len = 0;
	ret = enc_wkt(&e, NULL, pbjson_msg_name(p, m), json, &b, 0);
	if (ret == 1 && !json_is_object(json)) {
		snprintf(err, PBJSON_ERR_MAX, "%s must be a JSON object", m->name);
		return -EINVAL;
	}
	if (ret == 1)
		ret = enc_msg(&e, m, json, &b, 0);
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, PBJSON_ERR_MAX, "out of memory");
		free(b.d);
		return ret;
	}
	*out = b.d;
	*out_len = b.len;
	return 0;
}
