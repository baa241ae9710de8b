/* SPDX-License-Identifier: MIT */
/*
 * lazyrpc: service descriptions, as emitted by protoc-gen-lazyrpc.
 *
 * A generated service is a const lrpc_service_desc plus a typed table of
 * handler pointers. The runtime only sees the description; the generated
 * invoke thunks cast the messages and call the user's handler.
 */
#ifndef LAZYRPC_SERVICE_H
#define LAZYRPC_SERVICE_H

#include <protobuf-c/protobuf-c.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Server-side handle of one call in progress; valid only inside the handler. */
typedef struct lrpc_call lrpc_call;

/*
 * Generated for each method: casts \p req and \p rep to the method's types
 * and calls the matching member of \p handlers, or returns
 * LRPC_UNIMPLEMENTED when that member is NULL. \p rep arrives initialised.
 */
typedef lrpc_code (*lrpc_method_invoke_fn)(const void *handlers, void *user,
					   lrpc_call *call,
					   const ProtobufCMessage *req,
					   ProtobufCMessage *rep);

typedef struct lrpc_method_desc {
	const char *name;      /* "SayHello", as in the .proto */
	const char *full_name; /* "/greeter.Greeter/SayHello" */
	uint32_t id;           /* lrpc_method_id(full_name) */
	const ProtobufCMessageDescriptor *input;
	const ProtobufCMessageDescriptor *output;
	lrpc_method_invoke_fn invoke;
	void *reserved[2];
} lrpc_method_desc;

#define LRPC_SERVICE_DESC_MAGIC 0x4c525043u /* "LRPC" */

typedef struct lrpc_service_desc {
	uint32_t magic;          /* LRPC_SERVICE_DESC_MAGIC */
	uint32_t abi_version;    /* LRPC_SERVICE_ABI_VERSION */
	const char *name;        /* "greeter.Greeter" (package-qualified) */
	const char *short_name;  /* "Greeter" */
	const char *package;     /* "greeter", or "" */
	const char *proto_file;  /* "greeter.proto" */
	size_t n_methods;
	const lrpc_method_desc *methods; /* .proto order */
	void *reserved[4];
} lrpc_service_desc;

#define LRPC_SERVICE_ABI_VERSION 1u

/*
 * Stable method id: 32-bit FNV-1a of the full name ("/pkg.Svc/Method"),
 * never 0. Ids survive reordering methods and adding new ones; the server
 * refuses to register two methods with the same id.
 */
static inline uint32_t lrpc_method_id(const char *full_name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)full_name; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h ? h : 1u;
}

/* --- Inside a handler --------------------------------------------------- */

/** \return the caller's deadline for this call. */
LRPC_API lrpc_deadline lrpc_call_deadline(const lrpc_call *call);

/** \return the method being served. */
LRPC_API const lrpc_method_desc *lrpc_call_method(const lrpc_call *call);

/**
 * Memory that lives until the reply has been sent, for the fields of the
 * reply (strings, repeated arrays, sub-messages). The runtime frees it; the
 * handler must not. \retval NULL out of memory.
 */
LRPC_API void *lrpc_call_alloc(lrpc_call *call, size_t size);

/** Copy \p s into call memory (see lrpc_call_alloc). \retval NULL OOM. */
LRPC_API char *lrpc_call_strdup(lrpc_call *call, const char *s);

/**
 * Set the message sent with a non-OK status the handler is about to
 * return. printf-style; truncated to LRPC_STATUS_MSG_MAX - 1 bytes.
 */
LRPC_API void lrpc_call_set_message(lrpc_call *call, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
