/* SPDX-License-Identifier: MIT */
/*
 * The proto3 JSON mapping done from descriptors at run time: a pool of
 * google.protobuf.FileDescriptorProto files (from reflection or a
 * protoc --descriptor_set_out file) and a codec between JSON (jansson
 * values) and protobuf wire bytes for any message the pool knows. Shared
 * by the gateway and the lazyrpc tool; knows nothing of HTTP or calls.
 *
 * Threading: a pool is filled on one thread; once filled, lookups and
 * both directions of the codec only read it, from any number of threads.
 * Errors are returned with a message in a caller's buffer, never printed.
 */
#ifndef LRPC_PBJSON_H
#define LRPC_PBJSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "google/protobuf/descriptor.pb-c.h"

#define PBJSON_ERR_MAX 192
/* Nesting of messages either way; deeper input is refused. */
#define PBJSON_MAX_DEPTH 64

typedef struct pbjson_pool pbjson_pool;
typedef Google__Protobuf__DescriptorProto pbjson_msg;
typedef Google__Protobuf__ServiceDescriptorProto pbjson_svc;
typedef Google__Protobuf__MethodDescriptorProto pbjson_method;

/* A new, empty pool; the caller frees it with pbjson_pool_free().
 * \return NULL when out of memory. */
pbjson_pool *pbjson_pool_new(void);
void pbjson_pool_free(pbjson_pool *p);

/* Adds one serialized FileDescriptorProto (copied; a file already in the
 * pool by name is skipped). \return 0; -EINVAL (does not decode: err
 * says so); -ENOMEM. */
int pbjson_pool_add_file(pbjson_pool *p, const void *data, size_t len,
			 char err[PBJSON_ERR_MAX]);
/* Adds every file of a serialized FileDescriptorSet. \return as above. */
int pbjson_pool_add_set(pbjson_pool *p, const void *data, size_t len,
			char err[PBJSON_ERR_MAX]);
/* Whether a file of this name is in the pool. */
int pbjson_pool_has_file(const pbjson_pool *p, const char *name);

/* Lookups by full name without the leading dot ("pkg.Msg", "pkg.Svc");
 * the results live as long as the pool. NULL: not known. */
const pbjson_msg *pbjson_find_msg(const pbjson_pool *p, const char *full_name);
const pbjson_svc *pbjson_find_service(const pbjson_pool *p, const char *full_name);
const Google__Protobuf__EnumDescriptorProto *pbjson_find_enum(const pbjson_pool *p,
							       const char *full_name);
const pbjson_method *pbjson_find_method(const pbjson_svc *svc, const char *name);
/* The full name of a message or enum, as the pool indexed it. */
const char *pbjson_msg_name(const pbjson_pool *p, const pbjson_msg *m);
/* The file a symbol (message, enum, service) is defined in, or NULL. */
const Google__Protobuf__FileDescriptorProto *
pbjson_symbol_file(const pbjson_pool *p, const char *full_name);
/* Every service the pool knows, in the order added: *n of them, each
 * with its full name in names[i]. Valid as long as the pool. */
size_t pbjson_services(const pbjson_pool *p, const pbjson_svc *const **svcs,
		       const char *const **names);

/* Options of the JSON -> protobuf direction. */
typedef struct pbjson_opts {
	int ignore_unknown; /* unknown JSON fields are skipped, not refused */
} pbjson_opts;

/* Encodes \p json (an object) as message \p m: *out is malloc()ed
 * (free it; NULL for an empty message), *out_len its length.
 * \return 0; -EINVAL (the JSON does not fit the message: err names the
 * field and why); -ENOMEM. */
int pbjson_encode(const pbjson_pool *p, const pbjson_msg *m, const json_t *json,
		  const pbjson_opts *opts, uint8_t **out, size_t *out_len,
		  char err[PBJSON_ERR_MAX]);

/* Decodes \p len bytes of message \p m (peer input: every byte checked)
 * into a new JSON object with lowerCamelCase field names (\p orig_names:
 * the .proto names), int64 kinds as strings, bytes in base64, enums by
 * name. The caller owns *out (json_decref). \return 0; -EINVAL (the
 * bytes do not decode as \p m: err says where); -ENOMEM. */
int pbjson_decode(const pbjson_pool *p, const pbjson_msg *m, const uint8_t *buf,
		  size_t len, int orig_names, json_t **out, char err[PBJSON_ERR_MAX]);

/* For the codec's files: the resolved type of a field (message or enum)
 * by its type_name (".pkg.Msg"), NULL if unknown. */
const pbjson_msg *pbjson__field_msg(const pbjson_pool *p,
				    const Google__Protobuf__FieldDescriptorProto *f);
const Google__Protobuf__EnumDescriptorProto *
pbjson__field_enum(const pbjson_pool *p, const Google__Protobuf__FieldDescriptorProto *f);
/* The lowerCamelCase JSON name of \p f (its json_name if set), in
 * \p buf. */
const char *pbjson__json_name(const Google__Protobuf__FieldDescriptorProto *f,
			      char *buf, size_t len);
/* Whether \p m is a map entry (options.map_entry). */
int pbjson__is_map_entry(const pbjson_msg *m);

#endif
