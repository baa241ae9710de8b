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

#include <stdbool.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Server-side handle of one call in progress; valid only inside the handler. */
typedef struct lrpc_call lrpc_call;
/* The server's side of a stream (stream.h). */
typedef struct lrpc_server_stream lrpc_server_stream;

/* What a method takes and gives, as declared in the .proto. */
typedef enum lrpc_method_kind {
	LRPC_METHOD_UNARY = 0,
	LRPC_METHOD_CLIENT_STREAMING = 1, /* stream request, one reply */
	LRPC_METHOD_SERVER_STREAMING = 2, /* one request, stream reply */
	LRPC_METHOD_BIDI_STREAMING = 3,   /* stream both ways */
} lrpc_method_kind;

/*
 * Generated for each method: casts \p req and \p rep to the method's types
 * and calls the matching member of \p handlers, or returns
 * LRPC_UNIMPLEMENTED when that member is NULL. \p rep arrives initialised.
 */
typedef lrpc_code (*lrpc_method_invoke_fn)(const void *handlers, void *user,
					   lrpc_call *call,
					   const ProtobufCMessage *req,
					   ProtobufCMessage *rep);

/*
 * Generated for each streaming method: runs the matching member of
 * \p handlers on \p stream (a server-streaming thunk reads the one
 * request first), or returns LRPC_UNIMPLEMENTED when that member is NULL.
 * What it returns ends the stream.
 */
typedef lrpc_code (*lrpc_stream_invoke_fn)(const void *handlers, void *user,
					   lrpc_call *call,
					   lrpc_server_stream *stream);

typedef struct lrpc_method_desc {
	const char *name;      /* "SayHello", as in the .proto */
	const char *full_name; /* "/greeter.Greeter/SayHello" */
	uint32_t id;           /* lrpc_method_id(full_name) */
	/* lrpc_method_kind (ABI 2; padding, so 0 = unary, in ABI 1) */
	uint32_t kind;
	const ProtobufCMessageDescriptor *input;
	const ProtobufCMessageDescriptor *output;
	lrpc_method_invoke_fn invoke;        /* unary methods, else NULL */
	lrpc_stream_invoke_fn stream_invoke; /* streaming, else NULL (ABI 2) */
	void *reserved[1];
} lrpc_method_desc;

#define LRPC_SERVICE_DESC_MAGIC 0x4c525043u /* "LRPC" */

/* One .proto file's serialized google.protobuf.FileDescriptorProto
 * (ABI 3). */
typedef struct lrpc_file_desc {
	const char *name;    /* "google/protobuf/empty.proto"; NULL ends a list */
	const uint8_t *data; /* without source info */
	size_t len;
} lrpc_file_desc;

typedef struct lrpc_service_desc {
	uint32_t magic;          /* LRPC_SERVICE_DESC_MAGIC */
	uint32_t abi_version;    /* LRPC_SERVICE_ABI_VERSION */
	const char *name;        /* "greeter.Greeter" (package-qualified) */
	const char *short_name;  /* "Greeter" */
	const char *package;     /* "greeter", or "" */
	const char *proto_file;  /* "greeter.proto" */
	size_t n_methods;
	const lrpc_method_desc *methods; /* .proto order */
	/* ABI 2: the serialized google.protobuf.FileDescriptorProto of
	 * proto_file, for reflection and tools; NULL, 0 if not generated. */
	const uint8_t *file_descriptor;
	size_t file_descriptor_len;
	/* ABI 3: every file proto_file imports, directly or not, each once,
	 * ending with { NULL }; what a reflection client needs besides the
	 * file itself. NULL if not generated. */
	const lrpc_file_desc *dependencies;
	void *reserved[1];
} lrpc_service_desc;

/* 2 (0.2.0): method kinds, stream_invoke, file_descriptor. 3 (0.3.0):
 * dependencies, in what was reserved[0]. The server takes 1, 2 and 3; an
 * ABI-1 description has unary methods only. */
#define LRPC_SERVICE_ABI_VERSION 3u

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
 * Has the call been given up on: cancelled by the client, its deadline
 * passed, or the client gone? A long handler polls this and returns early
 * (its reply is then discarded). Thread-safe; never blocks. Since 0.2.0.
 */
LRPC_API bool lrpc_call_cancelled(const lrpc_call *call);

/**
 * Have \p fn(\p arg) run once when \p call is given up on while its
 * handler (unary or streaming) runs: the client cancelled it, its deadline
 * passed and the client said so, or the client went away (for a stream,
 * the server stopping too). One callback per call. It runs on the
 * transport's thread (the server's loop) as soon as the transport learns
 * of it; at once on the caller's thread if the call
 * is cancelled already; or on the handler's thread as it returns, if it
 * returns (having seen lrpc_call_cancelled()) before the transport's
 * thread got to it. It must not block, and may call
 * lrpc_call_cancelled() or lrpc_server_stream_wake() to rouse the handler.
 * It never runs after the handler returned: the handler's return waits for
 * a callback that is running. Not run when the call ends any other way
 * (including an error the handler returns). \p arg stays the caller's.
 * Over unix://, tcp:// and grpc:// (there the server's own timer tells
 * of a deadline too); lrpc:// handlers poll lrpc_call_cancelled(). From
 * the handler's thread. Since 0.6.0.
 * \return 0; -EINVAL (NULL \p fn); -EBUSY (a callback was registered
 * already); -ENOTSUP (the call's transport cannot tell).
 */
LRPC_API int lrpc_call_on_cancel(lrpc_call *call, void (*fn)(void *arg),
				 void *arg);

/* Who made a call, as the transport knows it (since 0.2.0). */
typedef struct lrpc_peer {
	const char *transport; /* "lrpc", "unix", "tcp", "grpc"; "" unknown */
	/* lrpc://, unix://: the client's credentials when it connected
	 * (SO_PEERCRED, from the kernel: not forgeable by the client). */
	int has_cred;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	/* tcp://, grpc://: the client's address, "127.0.0.1:5000" or
	 * "[::1]:5000"; else "". */
	char address[64];
} lrpc_peer;

/**
 * The caller of \p call. Valid while the handler runs; never NULL (a
 * transport that cannot tell gives transport ""). Thread-safe.
 */
LRPC_API const lrpc_peer *lrpc_call_peer(const lrpc_call *call);

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

/* --- Call metadata (since 0.3.0) ---------------------------------------- */

/*
 * Key/value pairs that travel beside a call's messages, as gRPC's metadata
 * does: request metadata from the client, and response headers (sent before
 * the first reply message) and trailers (sent with the status) from the
 * handler. A key is 1 to 255 bytes of [0-9a-z_.-]; keys ending in "-bin"
 * carry binary values (base64 on grpc://), any other key a value of
 * printable ASCII (0x20..0x7e). Keys starting with "grpc-", and the HTTP
 * headers gRPC itself sends (content-type, te, and HTTP/2's
 * connection-specific ones), are reserved. Each of the three sets of a
 * call holds at most LRPC_METADATA_MAX bytes, counted as HTTP/2 counts
 * headers: key + value + 32 per entry.
 *
 * Carried over grpc://, lrpc://, unix:// and tcp:// (unary; the last two
 * since 0.5.0: to a unix:// or tcp:// client before 0.5.0, what a handler
 * adds is not sent, docs/api.md).
 */
#define LRPC_METADATA_MAX 8192u
#define LRPC_METADATA_KEY_MAX 255u

typedef struct lrpc_metadata {
	const char *key;   /* NUL-terminated */
	const void *value; /* value_len bytes, also NUL-terminated */
	size_t value_len;
} lrpc_metadata;

/**
 * The request metadata of \p call, in the order the client sent it; keys
 * may repeat. *md is set to an array of the returned count (NULL when 0),
 * valid while the handler runs. Thread-safe.
 */
LRPC_API size_t lrpc_call_metadata(const lrpc_call *call, const lrpc_metadata **md);

/**
 * The first request metadata entry with key \p key, or NULL. Valid while
 * the handler runs. Thread-safe.
 */
LRPC_API const lrpc_metadata *lrpc_call_metadata_get(const lrpc_call *call,
						     const char *key);

/**
 * Add a response header: copied at once (\p value may be reused), sent
 * before the first reply message, or with the status if none is sent.
 * Call from the handler's thread.
 * \return 0; -EINVAL (a key that is invalid or reserved, or a value not
 * allowed for it); -E2BIG (the headers would pass LRPC_METADATA_MAX);
 * -EALREADY (a streaming handler has written a message: headers are
 * sent); -ENOMEM.
 */
LRPC_API int lrpc_call_add_header(lrpc_call *call, const char *key,
				  const void *value, size_t value_len);

/**
 * Add a response trailer, sent with the call's status (whatever it is).
 * As lrpc_call_add_header(), without -EALREADY.
 */
LRPC_API int lrpc_call_add_trailer(lrpc_call *call, const char *key,
				   const void *value, size_t value_len);

#ifdef __cplusplus
}
#endif
#endif
