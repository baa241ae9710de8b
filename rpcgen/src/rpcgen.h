/* SPDX-License-Identifier: MIT */
/*
 * protoc-gen-lazyrpc: the one internal header. Short aliases for the
 * descriptor types, the allocation helpers, and the entry points of each
 * part (plugin driver, type index, names, checks, emitters).
 */
#ifndef RPCGEN_H
#define RPCGEN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin.pb-c.h"

/* The service ABI (lrpc_service_desc layout) the emitted code targets. */
#define RPCGEN_SERVICE_ABI 3u
#define RPCGEN_VERSION "0.2.0"

typedef Google__Protobuf__Compiler__CodeGeneratorRequest pb_request;
typedef Google__Protobuf__FileDescriptorProto pb_file;
typedef Google__Protobuf__DescriptorProto pb_message;
typedef Google__Protobuf__ServiceDescriptorProto pb_service;
typedef Google__Protobuf__MethodDescriptorProto pb_method;

/* --- util.c ------------------------------------------------------------ */

/* Internal error (out of memory, I/O, a bug): message on stderr, exit 1. */
__attribute__((noreturn, format(printf, 1, 2)))
void rpcgen_die(const char *fmt, ...);

/* Arena allocations, freed all at once by rpcgen_arena_free(). Never NULL. */
void *rpcgen_alloc(size_t size);
char *rpcgen_strdup(const char *s);
char *rpcgen_strndup(const char *s, size_t n);
__attribute__((format(printf, 1, 2))) char *rpcgen_asprintf(const char *fmt, ...);
void rpcgen_arena_free(void);

/* A growable string; buf is NUL-terminated whenever len > 0. */
typedef struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
} strbuf;

void sb_append(strbuf *sb, const char *s, size_t n);
void sb_puts(strbuf *sb, const char *s);
void sb_free(strbuf *sb);

/* --- names.c ----------------------------------------------------------- */

char *name_camel_to_lower(const char *s);
char *name_camel_to_upper(const char *s);
char *name_to_camel(const char *s);
char *name_full_to_c(const char *full_name, const pb_file *file);
char *name_full_to_lower(const char *full_name, const pb_file *file);
char *name_full_to_upper(const char *full_name, const pb_file *file);
bool name_is_reserved(const char *ident);
bool name_breaks_pbc(const char *lower);
char *name_member(const char *method_name);
char *name_strip_proto(const char *file_name);
char *name_guard(const char *file_name);
bool name_is_c_string_safe(const char *s);

/* --- options.c --------------------------------------------------------- */

/* protobuf-c's (pb_c_file).c_package of \p file, or NULL when unset. */
const char *options_c_package(const pb_file *file);

/* --- types.c ----------------------------------------------------------- */

/* A message type known to this request, keyed by ".pkg.Outer.Inner". */
typedef struct type_entry {
	const char *full_name; /* with the leading dot */
	const pb_file *file;
	const char *c_name;     /* Pkg__Outer__Inner */
	const char *descriptor; /* pkg__outer__inner__descriptor */
} type_entry;

typedef struct type_index {
	type_entry *v;
	size_t n;
} type_index;

void types_build(type_index *ti, const pb_request *req);
const type_entry *types_find(const type_index *ti, const char *full_name);

/* --- check.c ----------------------------------------------------------- */

/*
 * Everything that would make the emitted code wrong, found before emitting.
 * \return NULL, or the user error to put in CodeGeneratorResponse.error.
 */
char *check_file(const pb_file *file, const pb_request *req, const type_index *ti);

/* --- printer.c --------------------------------------------------------- */

typedef struct printer_var {
	const char *key;
	const char *val;
} printer_var;

typedef struct printer {
	strbuf *out;
	printer_var *vars;
	size_t n_vars;
	size_t cap_vars;
} printer;

void printer_init(printer *p, strbuf *out);
void printer_set(printer *p, const char *key, const char *val);
void printer_print(printer *p, const char *tmpl);
void printer_free(printer *p);

/* --- emitters ---------------------------------------------------------- */

/* Names shared by the emitters for one service and one method. */
typedef struct svc_names {
	const pb_file *file;
	const pb_service *svc;
	const char *full_name; /* pkg.Svc */
	const char *c_name;    /* Pkg__Svc */
	const char *lower;     /* pkg__svc */
	const char *upper;     /* PKG__SVC */
} svc_names;

typedef struct method_names {
	const pb_method *m;
	const char *lower;     /* say_hello, as protobuf-c spells it */
	const char *member;    /* say_hello, or return_ for Return */
	const char *full_name; /* /pkg.Svc/SayHello */
	uint32_t id;
	const type_entry *in;
	const type_entry *out;
	unsigned kind; /* lrpc_method_kind */
} method_names;

void svc_names_init(svc_names *sn, const pb_file *file, const pb_service *svc);
void method_names_init(method_names *mn, const svc_names *sn, const pb_method *m,
		       const type_index *ti);
const char *const *name_method_fns(unsigned kind);

void emit_file(const pb_file *file, const pb_request *req, const type_index *ti,
	       strbuf *h, strbuf *c);
void emit_service_header(printer *p, const svc_names *sn, const type_index *ti);
void emit_service_source(printer *p, const svc_names *sn, const type_index *ti);
void emit_method_id(printer *p, const method_names *mn);
void emit_method_member(printer *p, const method_names *mn);
void emit_method_call_decl(printer *p, const method_names *mn);
void emit_method_invoke(printer *p, const method_names *mn);
void emit_method_desc(printer *p, const method_names *mn);
void emit_method_call_def(printer *p, const method_names *mn, size_t index);
void emit_method_vars(printer *p, const method_names *mn);
/* emit_stream.c: the streaming kinds' share of the emit_method_* above. */
void emit_stream_member(printer *p, const method_names *mn);
void emit_stream_decls(printer *p, const method_names *mn);
void emit_stream_invoke(printer *p, const method_names *mn);
void emit_stream_defs(printer *p, const method_names *mn);
void emit_stream_helpers(printer *p, const pb_file *file);
/* emit_descriptor.c */
void emit_file_descriptor(printer *p, const pb_file *file, const pb_request *req);

/* --- plugin.c ---------------------------------------------------------- */

/* The file of \p req named \p name, or NULL. */
const pb_file *rpcgen_find_file(const pb_request *req, const char *name);

/* Read a request from \p in, write the response to \p out. \return 0. */
int rpcgen_run(int in_fd, int out_fd);

#endif
