/* SPDX-License-Identifier: MIT */
/*
 * The well-known types' own JSON forms (protobuf.dev/programming-guides/json):
 * Timestamp and Duration as strings, FieldMask as one comma-separated
 * string, Struct, Value and ListValue as any JSON, the wrappers as their
 * bare value, Any with an "@type". A field of such a type is recognised by
 * its type name alone, so the pool need not hold the google/protobuf files
 * (reflection often serves only the files a service defines). Only Any
 * needs the pool: for the type it packs.
 *
 * For the codec's files (pbjson_encode.c, pbjson_decode.c); peer bytes
 * are checked as in pbjson_decode.c, JSON as in pbjson_encode.c, and
 * errors are -EINVAL with a reason in err (PBJSON_ERR_MAX), or -ENOMEM.
 */
#ifndef LRPC_PBJSON_WKT_H
#define LRPC_PBJSON_WKT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pbjson.h"
#include "pbjson_wire.h"

enum pbjson_wkt {
	PBJSON_WKT_NONE = 0, /* an ordinary message */
	PBJSON_WKT_TIMESTAMP,
	PBJSON_WKT_DURATION,
	PBJSON_WKT_FIELD_MASK,
	PBJSON_WKT_STRUCT,
	PBJSON_WKT_VALUE,
	PBJSON_WKT_LIST_VALUE,
	PBJSON_WKT_ANY,
	PBJSON_WKT_WRAPPER, /* DoubleValue ... BytesValue: see pbjson__wkt_wrapper() */
};

/* The kind of the message named \p type_name (".google.protobuf.Duration"
 * or without the dot); PBJSON_WKT_NONE for NULL or any other name. */
enum pbjson_wkt pbjson__wkt_kind(const char *type_name);

/* For a wrapper type: a one-field message ("value" = 1, of the wrapped
 * scalar type), static, for the codec to run its scalar code on.
 * NULL when \p type_name is not a wrapper. */
const pbjson_msg *pbjson__wkt_wrapper(const char *type_name);

/* JSON -> the message's wire bytes, appended to \p out, for Timestamp,
 * Duration, FieldMask, Struct, Value and ListValue. \p depth counts
 * nesting for Struct and its kin (bounded by PBJSON_MAX_DEPTH). */
int pbjson__wkt_encode(enum pbjson_wkt kind, const json_t *j, struct pbw_buf *out,
		       unsigned int depth, char *err);
/* Wire bytes -> a new JSON value (*out, the caller's), for the same kinds. */
int pbjson__wkt_decode(enum pbjson_wkt kind, const uint8_t *buf, size_t len,
		       unsigned int depth, json_t **out, char *err);

/* The halves of pbjson__wkt_encode/decode by file (pbjson_wkt_time.c,
 * pbjson_wkt_struct.c). */
int pbjson__time_encode(enum pbjson_wkt kind, const json_t *j, struct pbw_buf *out,
			char *err);
int pbjson__time_decode(enum pbjson_wkt kind, const uint8_t *buf, size_t len,
			json_t **out, char *err);
int pbjson__struct_encode(enum pbjson_wkt kind, const json_t *j, struct pbw_buf *out,
			  unsigned int depth, char *err);
int pbjson__struct_decode(enum pbjson_wkt kind, const uint8_t *buf, size_t len,
			  unsigned int depth, json_t **out, char *err);

#endif
