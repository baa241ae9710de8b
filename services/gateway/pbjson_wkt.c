// SPDX-License-Identifier: MIT
/*
 * Which well-known type a message is, the wrappers' one-field stand-ins,
 * and google.protobuf.FieldMask ({ repeated string paths = 1; }), whose
 * JSON is one string of lowerCamelCase paths joined by commas
 * ("user.displayName,photo"). Paths that would not come back the same
 * way (an upper-case letter or "_" not followed by a lower-case one) are
 * refused, as protobuf's own printer refuses them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson_wkt.h"

typedef Google__Protobuf__FieldDescriptorProto field_t;

#define WRAPPER(type_)                                                          \
	{ .base = PROTOBUF_C_MESSAGE_INIT(&google__protobuf__field_descriptor_proto__descriptor), \
	  .name = (char *)"value", .has_number = 1, .number = 1, .has_label = 1,      \
	  .label = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_OPTIONAL,    \
	  .has_type = 1, .type = (type_), .json_name = (char *)"value" }

static field_t wrapper_fields[] = {
	WRAPPER(PBW_DOUBLE), WRAPPER(PBW_FLOAT),
	WRAPPER(PBW_INT64),   WRAPPER(PBW_UINT64),
	WRAPPER(PBW_INT32),   WRAPPER(PBW_UINT32),
	WRAPPER(PBW_BOOL),     WRAPPER(PBW_STRING),
	WRAPPER(PBW_BYTES),
};
static field_t *wrapper_field_ptrs[] = {
	&wrapper_fields[0], &wrapper_fields[1], &wrapper_fields[2],
	&wrapper_fields[3], &wrapper_fields[4], &wrapper_fields[5],
	&wrapper_fields[6], &wrapper_fields[7], &wrapper_fields[8],
};

#define WRAPPER_MSG(i, name_)                                                          \
	{ .base = PROTOBUF_C_MESSAGE_INIT(&google__protobuf__descriptor_proto__descriptor), \
	  .name = (char *)(name_), .n_field = 1, .field = &wrapper_field_ptrs[i] }

static const pbjson_msg wrappers[] = {
	WRAPPER_MSG(0, "DoubleValue"), WRAPPER_MSG(1, "FloatValue"),
	WRAPPER_MSG(2, "Int64Value"),  WRAPPER_MSG(3, "UInt64Value"),
	WRAPPER_MSG(4, "Int32Value"),  WRAPPER_MSG(5, "UInt32Value"),
	WRAPPER_MSG(6, "BoolValue"),   WRAPPER_MSG(7, "StringValue"),
	WRAPPER_MSG(8, "BytesValue"),
};

static const struct {
	const char *name;
	enum pbjson_wkt kind;
} kinds[] = {
	{ "Timestamp", PBJSON_WKT_TIMESTAMP }, { "Duration", PBJSON_WKT_DURATION },
	{ "FieldMask", PBJSON_WKT_FIELD_MASK }, { "Struct", PBJSON_WKT_STRUCT },
	{ "Value", PBJSON_WKT_VALUE },         { "ListValue", PBJSON_WKT_LIST_VALUE },
	{ "Any", PBJSON_WKT_ANY },
};

static const char *short_name(const char *type_name)
{
	static const char pkg[] = "google.protobuf.";

	if (!type_name)
		return NULL;
	type_name += *type_name == '.';
	return strncmp(type_name, pkg, sizeof(pkg) - 1) ? NULL : type_name + sizeof(pkg) - 1;
}

const pbjson_msg *pbjson__wkt_wrapper(const char *type_name)
{
	const char *s = short_name(type_name);

	for (size_t i = 0; s && i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
		if (!strcmp(s, wrappers[i].name))
			return &wrappers[i];
	return NULL;
}

enum pbjson_wkt pbjson__wkt_kind(const char *type_name)
{
	const char *s = short_name(type_name);

	for (size_t i = 0; s && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(s, kinds[i].name))
			return kinds[i].kind;
	return pbjson__wkt_wrapper(type_name) ? PBJSON_WKT_WRAPPER : PBJSON_WKT_NONE;
}

static int mask_encode(const json_t *j, struct pbw_buf *out, char *err)
{
	const char *s, *end;
	char *path;

	if (!json_is_string(j) || strlen(json_string_value(j)) != json_string_length(j)) {
		snprintf(err, PBJSON_ERR_MAX, "google.protobuf.FieldMask must be a string");
		return -EINVAL;
	}
	s = json_string_value(j);
	if (!*s)
		return 0;
	/* Each path grows by at most one "_" per letter. */
	path = malloc(2 * strlen(s) + 1);
	if (!path)
		return -ENOMEM;
	for (;; s = end + 1) {
		size_t o = 0;

		end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		for (const char *c = s; c < end; c++) {
			if (*c == '_') {
				free(path);
				snprintf(err, PBJSON_ERR_MAX,
					 "FieldMask path \"%.*s\" is not lowerCamelCase",
					 (int)(end - s > 60 ? 60 : end - s), s);
				return -EINVAL;
			}
			if (*c >= 'A' && *c <= 'Z') {
				path[o++] = '_';
				path[o++] = (char)(*c - 'A' + 'a');
			} else {
				path[o++] = *c;
			}
		}
		if (!o) {
			free(path);
			snprintf(err, PBJSON_ERR_MAX, "FieldMask has an empty path");
			return -EINVAL;
		}
		pbw_tag(out, 1, PBW_LEN);
		pbw_bytes(out, path, o);
		if (!*end)
			break;
	}
	free(path);
	return out->oom ? -ENOMEM : 0;
}

/* Appends \p p (n bytes) to \p s (*len of *cap) in lowerCamelCase.
 * \return 0; -EINVAL (does not map back); -ENOMEM. */
static int mask_path(const uint8_t *p, size_t n, char **s, size_t *len, size_t *cap)
{
	if (*len + n + 2 > *cap) {
		size_t ncap = (*len + n + 2) * 2;
		char *ns = realloc(*s, ncap);

		if (!ns)
			return -ENOMEM;
		*s = ns;
		*cap = ncap;
	}
	if (*len)
		(*s)[(*len)++] = ',';
	if (!n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = (char)p[i];

		if ((c >= 'A' && c <= 'Z') || c == ',' || !c)
			return -EINVAL;
		if (c == '_') {
			if (i + 1 == n || p[i + 1] < 'a' || p[i + 1] > 'z')
				return -EINVAL;
			c = (char)(p[++i] - 'a' + 'A');
		}
		(*s)[(*len)++] = c;
	}
	(*s)[*len] = '\0';
	return 0;
}

static int mask_decode(const uint8_t *buf, size_t len, json_t **out, char *err)
{
	struct pbw_reader r = pbw_reader_of(buf, len);
	char *s = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	while (r.p < r.end && !ret) {
		const uint8_t *p;
		size_t pn;
		uint64_t tag;

		if (!pbw_read_varint(&r, &tag) || !(tag >> 3) || (tag >> 3) > 0x1fffffff) {
			ret = -EINVAL;
		} else if ((tag >> 3) != 1) {
			ret = pbw_skip(&r, tag & 7, (uint32_t)(tag >> 3), 0) ? 0 : -EINVAL;
		} else if ((tag & 7) != PBW_LEN || !pbw_read_len(&r, &p, &pn)) {
			ret = -EINVAL;
		} else if ((ret = mask_path(p, pn, &s, &n, &cap)) == -EINVAL) {
			snprintf(err, PBJSON_ERR_MAX,
				 "FieldMask path \"%.*s\" has no lowerCamelCase form",
				 (int)(pn > 60 ? 60 : pn), (const char *)p);
			free(s);
			return -EINVAL;
		}
	}
	if (!ret) {
		*out = json_string(s ? s : "");
		if (!*out) {
			snprintf(err, PBJSON_ERR_MAX, "FieldMask path is not UTF-8");
			ret = -EINVAL;
		}
	} else if (ret == -EINVAL) {
		snprintf(err, PBJSON_ERR_MAX, "google.protobuf.FieldMask is malformed");
	}
	free(s);
	return ret;
}

int pbjson__wkt_encode(enum pbjson_wkt kind, const json_t *j, struct pbw_buf *out,
		       unsigned int depth, char *err)
{
	switch (kind) {
	case PBJSON_WKT_TIMESTAMP:
	case PBJSON_WKT_DURATION:
		return pbjson__time_encode(kind, j, out, err);
	case PBJSON_WKT_FIELD_MASK:
		return mask_encode(j, out, err);
	case PBJSON_WKT_STRUCT:
	case PBJSON_WKT_VALUE:
	case PBJSON_WKT_LIST_VALUE:
		return pbjson__struct_encode(kind, j, out, depth, err);
	default:
		snprintf(err, PBJSON_ERR_MAX, "not a well-known type with a JSON form of its own");
		return -EINVAL;
	}
}

int pbjson__wkt_decode(enum pbjson_wkt kind, const uint8_t *buf, size_t len,
		       unsigned int depth, json_t **out, char *err)
{
	*out = NULL;
	switch (kind) {
	case PBJSON_WKT_TIMESTAMP:
	case PBJSON_WKT_DURATION:
		return pbjson__time_decode(kind, buf, len, out, err);
	case PBJSON_WKT_FIELD_MASK:
		return mask_decode(buf, len, out, err);
	case PBJSON_WKT_STRUCT:
	case PBJSON_WKT_VALUE:
	case PBJSON_WKT_LIST_VALUE:
		return pbjson__struct_decode(kind, buf, len, depth, out, err);
	default:
		snprintf(err, PBJSON_ERR_MAX, "not a well-known type with a JSON form of its own");
		return -EINVAL;
	}
}
