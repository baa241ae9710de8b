// SPDX-License-Identifier: MIT
/*
 * Protobuf wire bytes -> JSON, by the proto3 JSON mapping. The bytes come
 * from a peer (a backend's reply): every length and tag is checked
 * against what is left, nesting is bounded, strings must be UTF-8, and a
 * wire type that does not fit its field is refused. Unknown fields are
 * skipped, as a reader with an older schema does. Fields appear as they
 * came on the wire (a proto3 writer leaves out defaults), the last one
 * winning for a field sent twice (messages included: they are not
 * merged). The well-known types' own forms are pbjson_wkt*.c's; Any
 * and the wrappers, which reuse this file's message and scalar code, are
 * here.
 */
#include <errno.h>
#include <inttypes.h>
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

struct dec {
	const pbjson_pool *p;
	int orig;
	char *err;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct dec *d, const pbjson_msg *m, const char *fmt, ...)
{
	char why[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(d->err, PBJSON_ERR_MAX, "%s: %s", m && m->name ? m->name : "?", why);
	return -EINVAL;
}

static int expected_wire(const field_t *f)
{
	switch (f->type) {
	case PBW_DOUBLE: case PBW_FIXED64: case PBW_SFIXED64: return PBW_I64;
	case PBW_FLOAT: case PBW_FIXED32: case PBW_SFIXED32: return PBW_I32;
	case PBW_STRING: case PBW_BYTES: case PBW_MESSAGE: return PBW_LEN;
	case PBW_GROUP: return PBW_SGROUP;
	default: return PBW_VARINT;
	}
}

__attribute__((format(printf, 1, 2)))
static json_t *int_string(const char *fmt, ...)
{
	char buf[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_string(buf);
}

static json_t *float_json(double v)
{
	if (isnan(v))
		return json_string("NaN");
	if (isinf(v))
		return json_string(v > 0 ? "Infinity" : "-Infinity");
	return json_real(v);
}

static json_t *enum_json(struct dec *d, const field_t *f, int32_t v)
{
	const Google__Protobuf__EnumDescriptorProto *en = pbjson__field_enum(d->p, f);

	for (size_t i = 0; en && i < en->n_value; i++)
		if (en->value[i]->number == v && en->value[i]->name)
			return json_string(en->value[i]->name);
	return json_integer(v); /* a value this schema does not know */
}

static int dec_msg(struct dec *d, const pbjson_msg *m, const uint8_t *buf, size_t len,
		   unsigned int depth, json_t **out);
static int dec_wkt(struct dec *d, const pbjson_msg *m, const char *type_name,
		   const uint8_t *buf, size_t len, unsigned int depth, json_t **out);
static json_t *default_json(struct dec *d, const field_t *f);

/* google.protobuf.Any { string type_url = 1; bytes value = 2; } as
 * {"@type": url, fields...}, or {"@type": url, "value": ...} for a
 * well-known type; the packed type must be in the pool. */
static int dec_any(struct dec *d, const pbjson_msg *m, const uint8_t *buf, size_t len,
		   unsigned int depth, json_t **out)
{
	struct pbw_reader r = pbw_reader_of(buf, len);
	const uint8_t *url = NULL, *val = NULL, *p;
	size_t url_len = 0, val_len = 0, n;
	const pbjson_msg *t;
	json_t *type, *inner;
	char name[256];
	const char *slash;
	int ret;

	while (r.p < r.end) {
		uint64_t tag;

		if (!pbw_read_varint(&r, &tag) || !(tag >> 3) || (tag >> 3) > 0x1fffffff)
			return fail(d, m, "google.protobuf.Any is malformed");
		if ((tag >> 3) > 2) {
			if (!pbw_skip(&r, tag & 7, (uint32_t)(tag >> 3), 0))
				return fail(d, m, "google.protobuf.Any is malformed");
			continue;
		}
		if ((tag & 7) != PBW_LEN || !pbw_read_len(&r, &p, &n))
			return fail(d, m, "google.protobuf.Any is malformed");
		if ((tag >> 3) == 1)
			url = p, url_len = n;
		else
			val = p, val_len = n;
	}
	if (!url && !val) {
		*out = json_object();
		return *out ? 0 : -ENOMEM;
	}
	type = url ? json_stringn((const char *)url, url_len) : NULL;
	slash = type ? strrchr(json_string_value(type), '/') : NULL;
	if (!slash || !slash[1] || strlen(slash + 1) >= sizeof(name) ||
	    strlen(json_string_value(type)) != url_len) {
		json_decref(type);
		return fail(d, m, "google.protobuf.Any has no type URL");
	}
	strcpy(name, slash + 1);
	ret = dec_wkt(d, m, name, val, val_len, depth + 1, &inner);
	if (ret == 1) {
		t = pbjson_find_msg(d->p, name);
		ret = t ? dec_msg(d, t, val, val_len, depth + 1, out) :
			  fail(d, m, "Any packs %.80s, a type not known here", name);
	} else if (!ret) {
		*out = json_object();
		if (!*out || json_object_set_new(*out, "value", inner))
			ret = -ENOMEM;
	}
	if (ret)
		json_decref(type);
	else if (json_object_set_new(*out, "@type", type))
		ret = -ENOMEM;
	if (ret) {
		json_decref(*out);
		*out = NULL;
	}
	return ret;
}

/* A message of a well-known type with a JSON form of its own into *out.
 * \return 0, < 0, or 1: an ordinary message, for dec_msg(). */
static int dec_wkt(struct dec *d, const pbjson_msg *m, const char *type_name,
		   const uint8_t *buf, size_t len, unsigned int depth, json_t **out)
{
	enum pbjson_wkt kind = pbjson__wkt_kind(type_name);
	const pbjson_msg *w;
	json_t *obj, *v;
	int ret;

	*out = NULL;
	if (kind == PBJSON_WKT_NONE)
		return 1;
	if (depth > PBJSON_MAX_DEPTH)
		return fail(d, m, "nested deeper than %d", PBJSON_MAX_DEPTH);
	switch (kind) {
	case PBJSON_WKT_WRAPPER:
		w = pbjson__wkt_wrapper(type_name);
		ret = dec_msg(d, w, buf, len, depth, &obj);
		if (ret)
			return ret;
		v = json_object_get(obj, "value");
		*out = v ? json_incref(v) : default_json(d, w->field[0]);
		json_decref(obj);
		return *out ? 0 : -ENOMEM;
	case PBJSON_WKT_ANY:
		return dec_any(d, m, buf, len, depth, out);
	default:
		return pbjson__wkt_decode(kind, buf, len, depth, out, d->err);
	}
}

/* One value of \p f from the reader (wire type already checked, or the
 * packed element's). \return 0 with *out, or < 0. */
static int dec_value(struct dec *d, const pbjson_msg *m, const field_t *f,
		     struct pbw_reader *r, unsigned int depth, json_t **out)
{
	const uint8_t *p;
	uint64_t v = 0;
	uint32_t v32 = 0;
	size_t n;
	int ew = expected_wire(f);

	*out = NULL;
	if ((ew == PBW_VARINT && !pbw_read_varint(r, &v)) ||
	    (ew == PBW_I64 && !pbw_read_fixed64(r, &v)) ||
	    (ew == PBW_I32 && !pbw_read_fixed32(r, &v32)) ||
	    (ew == PBW_LEN && !pbw_read_len(r, &p, &n)))
		return fail(d, m, "field %s is cut short", f->name);
	switch (f->type) {
	case PBW_INT32: *out = json_integer((int32_t)v); break;
	case PBW_SINT32: *out = json_integer((int32_t)((uint32_t)v >> 1 ^ -(uint32_t)(v & 1))); break;
	case PBW_UINT32: *out = json_integer((uint32_t)v); break;
	case PBW_INT64: case PBW_SFIXED64: *out = int_string("%" PRId64, (int64_t)v); break;
	case PBW_SINT64: *out = int_string("%" PRId64, (int64_t)(v >> 1 ^ -(v & 1))); break;
	case PBW_UINT64: case PBW_FIXED64: *out = int_string("%" PRIu64, v); break;
	case PBW_FIXED32: *out = json_integer(v32); break;
	case PBW_SFIXED32: *out = json_integer((int32_t)v32); break;
	case PBW_BOOL: *out = json_boolean(v != 0); break;
	case PBW_ENUM: *out = enum_json(d, f, (int32_t)v); break;
	case PBW_FLOAT: {
		float fl;

		memcpy(&fl, &v32, 4);
		*out = float_json(fl);
		break;
	}
	case PBW_DOUBLE: {
		double db;

		memcpy(&db, &v, 8);
		*out = float_json(db);
		break;
	}
	case PBW_STRING:
		*out = json_stringn((const char *)p, n);
		if (!*out)
			return fail(d, m, "field %s is not UTF-8", f->name);
		break;
	case PBW_BYTES: {
		char *s = malloc(n / 3 * 4 + 5);

		if (!s)
			return -ENOMEM;
		pbw_b64_encode(p, n, s);
		*out = json_string(s);
		free(s);
		break;
	}
	case PBW_MESSAGE: {
		const pbjson_msg *t = pbjson__field_msg(d->p, f);
		int ret = dec_wkt(d, m, f->type_name, p, n, depth + 1, out);

		if (ret != 1)
			return ret;
		if (!t)
			return fail(d, m, "type %s of field %s is not known",
				    f->type_name ? f->type_name : "?", f->name);
		return dec_msg(d, t, p, n, depth + 1, out);
	}
	default:
		return fail(d, m, "field %s has type %d, not supported", f->name, f->type);
	}
	return *out ? 0 : -ENOMEM;
}

/* What an absent map value reads as: its type's default (for a
 * well-known type, what its empty message reads as). */
static json_t *default_json(struct dec *d, const field_t *f)
{
	json_t *v;

	switch (f->type) {
	case PBW_STRING: case PBW_BYTES: return json_string("");
	case PBW_MESSAGE:
		if (pbjson__wkt_kind(f->type_name) != PBJSON_WKT_NONE)
			return dec_wkt(d, NULL, f->type_name, NULL, 0, 0, &v) ? NULL : v;
		return json_object();
	case PBW_BOOL: return json_false();
	case PBW_ENUM: return enum_json(d, f, 0);
	case PBW_INT64: case PBW_SINT64: case PBW_SFIXED64: case PBW_UINT64:
	case PBW_FIXED64: return json_string("0");
	case PBW_FLOAT: case PBW_DOUBLE: return json_real(0);
	default: return json_integer(0);
	}
}

static const field_t *field_by_number(const pbjson_msg *m, uint32_t n)
{
	for (size_t i = 0; i < m->n_field; i++)
		if (m->field[i]->number == (int32_t)n)
			return m->field[i];
	return NULL;
}

/* A map entry into \p obj[key] = value. */
static int dec_entry(struct dec *d, const pbjson_msg *entry, const uint8_t *buf,
		     size_t len, unsigned int depth, json_t *obj)
{
	const field_t *kf = field_by_number(entry, 1), *vf = field_by_number(entry, 2);
	struct pbw_reader r = pbw_reader_of(buf, len);
	json_t *key = NULL, *val = NULL;
	char kbuf[32];
	const char *ks;
	int ret = 0;

	if (!kf || !vf)
		return fail(d, entry, "map entry type is malformed");
	while (r.p < r.end && !ret) {
		uint64_t tag;
		const field_t *f;
		json_t **slot, *v;

		if (!pbw_read_varint(&r, &tag) || !(tag >> 3) || (tag >> 3) > 0x1fffffff) {
			ret = fail(d, entry, "bad tag");
			break;
		}
		f = (tag >> 3) == 1 ? kf : (tag >> 3) == 2 ? vf : NULL;
		if (!f || (int)(tag & 7) != expected_wire(f)) {
			if (!pbw_skip(&r, tag & 7, (uint32_t)(tag >> 3), 0))
				ret = fail(d, entry, "field %u is cut short", (unsigned int)(tag >> 3));
			continue;
		}
		slot = f == kf ? &key : &val;
		ret = dec_value(d, entry, f, &r, depth, &v);
		if (!ret) {
			json_decref(*slot);
			*slot = v;
		}
	}
	if (!ret && !key)
		key = default_json(d, kf);
	if (!ret && !val)
		val = default_json(d, vf);
	if (!ret && (!key || !val))
		ret = -ENOMEM;
	if (!ret) {
		if (json_is_string(key))
			ks = json_string_value(key);
		else if (json_is_boolean(key))
			ks = json_is_true(key) ? "true" : "false";
		else {
			snprintf(kbuf, sizeof(kbuf), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(key));
			ks = kbuf;
		}
		ret = json_object_set(obj, ks, val) ? -ENOMEM : 0;
	}
	json_decref(key);
	json_decref(val);
	return ret;
}

static bool packable(const field_t *f)
{
	int w = expected_wire(f);

	return w == PBW_VARINT || w == PBW_I32 || w == PBW_I64;
}

static int dec_field(struct dec *d, const pbjson_msg *m, const field_t *f,
		     unsigned int wt, struct pbw_reader *r, unsigned int depth, json_t *obj)
{
	char nbuf[256];
	const char *name = d->orig ? f->name : pbjson__json_name(f, nbuf, sizeof(nbuf));
	json_t *v, *arr;
	int ret;

	if (f->label != PBW_LABEL_REPEATED) {
		if ((int)wt != expected_wire(f))
			return fail(d, m, "field %s has wire type %u", f->name, wt);
		ret = dec_value(d, m, f, r, depth, &v);
		/* The last member of a oneof on the wire is the one set. */
		for (size_t i = 0; !ret && f->has_oneof_index && i < m->n_field; i++) {
			const field_t *o = m->field[i];
			char obuf[256];

			if (o != f && o->has_oneof_index && o->oneof_index == f->oneof_index)
				json_object_del(obj, d->orig ? o->name :
						pbjson__json_name(o, obuf, sizeof(obuf)));
		}
		return ret ? ret : json_object_set_new(obj, name, v) ? -ENOMEM : 0;
	}
	if (f->type == PBW_MESSAGE) {
		const pbjson_msg *t = pbjson__field_msg(d->p, f);

		if (t && pbjson__is_map_entry(t)) {
			const uint8_t *p;
			size_t n;
			json_t *map = json_object_get(obj, name);

			if (wt != PBW_LEN || !pbw_read_len(r, &p, &n))
				return fail(d, m, "map %s entry is malformed", f->name);
			if (!map) {
				if (json_object_set_new(obj, name, map = json_object()) || !map)
					return -ENOMEM;
			}
			return dec_entry(d, t, p, n, depth + 1, map);
		}
	}
	arr = json_object_get(obj, name);
	if (!arr) {
		if (json_object_set_new(obj, name, arr = json_array()) || !arr)
			return -ENOMEM;
	}
	if (wt == PBW_LEN && packable(f)) {
		const uint8_t *p;
		size_t n;
		struct pbw_reader pr;

		if (!pbw_read_len(r, &p, &n))
			return fail(d, m, "field %s is cut short", f->name);
		pr = pbw_reader_of(p, n);
		while (pr.p < pr.end) {
			ret = dec_value(d, m, f, &pr, depth, &v);
			if (ret)
				return ret;
			if (json_array_append_new(arr, v))
				return -ENOMEM;
		}
		return 0;
	}
	if ((int)wt != expected_wire(f))
		return fail(d, m, "field %s has wire type %u", f->name, wt);
	ret = dec_value(d, m, f, r, depth, &v);
	return ret ? ret : json_array_append_new(arr, v) ? -ENOMEM : 0;
}

static int dec_msg(struct dec *d, const pbjson_msg *m, const uint8_t *buf, size_t len,
		   unsigned int depth, json_t **out)
{
	struct pbw_reader r = pbw_reader_of(buf, len);
	json_t *obj;
	int ret = 0;

	*out = NULL;
	if (depth > PBJSON_MAX_DEPTH)
		return fail(d, m, "nested deeper than %d", PBJSON_MAX_DEPTH);
	obj = json_object();
	if (!obj)
		return -ENOMEM;
	while (r.p < r.end && !ret) {
		uint64_t tag;
		const field_t *f;

		if (!pbw_read_varint(&r, &tag) || !(tag >> 3) || (tag >> 3) > 0x1fffffff) {
			ret = fail(d, m, "bad tag at byte %zu", (size_t)(r.p - buf));
			break;
		}
		f = field_by_number(m, (uint32_t)(tag >> 3));
		if (!f || f->type == PBW_GROUP) {
			if (!pbw_skip(&r, tag & 7, (uint32_t)(tag >> 3), 0))
				ret = fail(d, m, "unknown field %u is malformed",
					   (unsigned int)(tag >> 3));
			continue;
		}
		ret = dec_field(d, m, f, tag & 7, &r, depth, obj);
	}
	if (ret) {
		json_decref(obj);
		return ret;
	}
	*out = obj;
	return 0;
}

int pbjson_decode(const pbjson_pool *p, const pbjson_msg *m, const uint8_t *buf,
		  size_t len, int orig_names, json_t **out, char err[PBJSON_ERR_MAX])
{
	struct dec d = { p, orig_names, err };
	int ret = dec_wkt(&d, m, pbjson_msg_name(p, m), buf, len, 0, out);

	if (ret == 1)
		ret = dec_msg(&d, m, buf, len, 0, out);

	if (ret == -ENOMEM)
		snprintf(err, PBJSON_ERR_MAX, "out of memory");
	return ret;
}
