/* SPDX-License-Identifier: MIT */
/*
 * lazyrpc: the client side. A channel is a connection to one server; any
 * number of threads may call through it at once.
 *
 *   lrpc_channel *ch;
 *   lrpc_channel_open("lrpc://greeter", NULL, &ch);
 *   Greeter__HelloReply *rep;
 *   lrpc_status st;
 *   if (greeter__greeter__say_hello__call(ch, &req, &rep,
 *                                         lrpc_deadline_after_ms(100), &st) == LRPC_OK)
 *           greeter__hello_reply__free_unpacked(rep, NULL);
 *   lrpc_channel_close(ch);
 */
#ifndef LAZYRPC_CHANNEL_H
#define LAZYRPC_CHANNEL_H

#include "common.h"
#include "service.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lrpc_channel lrpc_channel;

typedef struct lrpc_channel_opts {
	/* Timeout of calls made with LRPC_DEADLINE_DEFAULT; 0: 30000 ms. */
	int64_t default_timeout_ms;
	/* Time allowed for connecting and the handshake; 0: 5000 ms. */
	int64_t connect_timeout_ms;
	/* Hand-off to use ("futex", ...); NULL: the best both sides offer.
	 * The environment variable LAZYRPC_HANDOFF overrides NULL too. */
	const char *handoff;
	/* Largest request or reply over unix:// and tcp://; 0: 4 MiB.
	 * (lrpc:// channels take the server's limit.) */
	size_t max_msg_size;
	/* If set, why lrpc_channel_open() failed, as the server said it
	 * when it refused (e.g. RESOURCE_EXHAUSTED "server full: 64 lrpc://
	 * clients (max_clients)"), else from the errno. Since 0.1.1. */
	lrpc_status *open_status;
	/*
	 * A channel whose server went away connects again by itself once the
	 * name (or address) is served again. Meanwhile calls fail at once with
	 * UNAVAILABLE; with wait_for_ready set they wait, retrying, until
	 * their deadline instead (gRPC's wait-for-ready; since 0.2.0, in what
	 * was reserved). Only calls that were never sent are retried. Stream
	 * opens wait too (since 0.5.0).
	 */
	int wait_for_ready;
	/* Asynchronous calls (async.h) that find every call context busy
	 * wait in the channel's queue, at most this many; one more fails with
	 * RESOURCE_EXHAUSTED. 0: 4096. (Since 0.3.0, in what was reserved.) */
	int async_queue_max;
	/* grpcs:// only: how to verify the server (ca_file, NULL: the
	 * system's CAs; server_name, NULL: the URI's host) and the client's
	 * certificate (cert_file and key_file, both or neither). Read during
	 * lrpc_channel_open() only. NULL: the system's CAs and the URI's
	 * host, no client certificate. (Since 0.3.0, in what was reserved.) */
	const lrpc_tls_opts *tls;
	/* lrpc:// only: the users and groups whose server this client will
	 * map a region from, besides its own uid and root (see
	 * lrpc_peer_acl); NULL: nobody else. Copied by lrpc_channel_open()
	 * and kept for reconnects. (Since 0.4.0, in what was reserved.) */
	const lrpc_peer_acl *trust;
} lrpc_channel_opts;

/** Fill \p opts with the defaults. */
LRPC_API void lrpc_channel_opts_init(lrpc_channel_opts *opts);

/**
 * Connect to \p uri: "lrpc://NAME" (shared call contexts with a server on
 * this host), "unix://PATH" or "tcp://HOST:PORT" (framed sockets, for peers
 * elsewhere and for comparison). \p opts may be NULL; it is copied.
 * \return 0, -EINVAL (bad uri or opts), -ENOENT (no such name),
 * -ECONNREFUSED (name exists, no server behind it), -EACCES (server refused
 * this uid, or runs as another uid that is not root), -EAGAIN (server
 * full), -ETIMEDOUT, -EPROTO (handshake garbage), -ECONNRESET (server hung
 * up during the handshake), -EHOSTUNREACH (tcp host does not resolve),
 * -EPROTONOSUPPORT (scheme or hand-off not supported), other -errno;
 * opts->open_status, if set, says why in words.
 * The caller owns *out and releases it with lrpc_channel_close().
 */
LRPC_API int lrpc_channel_open(const char *uri, const lrpc_channel_opts *opts,
			       lrpc_channel **out);

/**
 * Close the channel. No call may be in progress on it. NULL is allowed.
 */
LRPC_API void lrpc_channel_close(lrpc_channel *ch);

/** \return the hand-off in use: "futex", "rpal-kernel", "rpal-user", or
 * "socket" for unix:// and tcp://. */
LRPC_API const char *lrpc_channel_handoff(const lrpc_channel *ch);

/** \return the largest request this channel carries, in bytes. */
LRPC_API size_t lrpc_channel_max_msg(const lrpc_channel *ch);

/* lrpc_channel_set_max_conns()'s default: below a server's default
 * max_conns (64), so that one busy channel is not refused "server full". */
#define LRPC_DEFAULT_CHANNEL_CONNS 32u

/**
 * unix:// and tcp:// only (since 0.6.0): hold at most \p max_conns
 * connections for the channel's synchronous calls and streams (0:
 * LRPC_DEFAULT_CHANNEL_CONNS, the cap a channel starts with). The framing
 * carries one call at a time on such a connection, so each call or stream
 * in progress holds one; a call or stream open that finds them all held
 * waits for one to come free, until its deadline, and then fails with
 * DEADLINE_EXCEEDED saying so. Asynchronous calls keep 8 connections of
 * their own besides. A lower cap than the connections now open takes
 * effect as they come back (those beyond it are closed). Thread-safe, at
 * any time, calls in progress included.
 * \return 0, -EINVAL (NULL), -EOPNOTSUPP (another transport: lrpc://
 * shares call contexts, grpc:// multiplexes).
 */
LRPC_API int lrpc_channel_set_max_conns(lrpc_channel *ch, unsigned int max_conns);

/**
 * Call \p method with \p req and wait for the reply until \p deadline.
 * On LRPC_OK, *rep is a new message the caller frees with
 * protobuf_c_message_free_unpacked(*rep, NULL); otherwise *rep is NULL.
 * \p status may be NULL. Thread-safe. Generated <pkg>__<svc>__<m>__call()
 * functions wrap this with the method's types.
 * \return the call's status code.
 */
LRPC_API lrpc_code lrpc_channel_call(lrpc_channel *ch,
				     const lrpc_method_desc *method,
				     const ProtobufCMessage *req,
				     ProtobufCMessage **rep,
				     lrpc_deadline deadline,
				     lrpc_status *status);

/*
 * Call metadata, client side (since 0.3.0; the rules and limits are the
 * server's, service.h). A list is where a call puts the response headers
 * or trailers it got: the caller makes it, passes it in lrpc_call_opts,
 * reads it after the call, and frees it. Not thread-safe: one call at a
 * time may fill a list, and nobody read it meanwhile.
 */
typedef struct lrpc_metadata_list lrpc_metadata_list;

/** Make an empty list. \return 0, -EINVAL (NULL), -ENOMEM. */
LRPC_API int lrpc_metadata_list_new(lrpc_metadata_list **out);
/** Free \p l and its entries. NULL is allowed. */
LRPC_API void lrpc_metadata_list_free(lrpc_metadata_list *l);
/** Drop every entry (a call filling \p l clears it first). */
LRPC_API void lrpc_metadata_list_clear(lrpc_metadata_list *l);
/** \return the entries' count; *md (may be NULL) their array, in the
 * order received, valid until \p l is cleared, refilled or freed. */
LRPC_API size_t lrpc_metadata_list_get(const lrpc_metadata_list *l,
				       const lrpc_metadata **md);
/** \return the first entry with key \p key, or NULL. */
LRPC_API const lrpc_metadata *lrpc_metadata_list_find(const lrpc_metadata_list *l,
						      const char *key);
/**
 * Append a copy of \p key and of \p value (\p value_len bytes) to \p l
 * (since 0.5.0), for a client interceptor adding request metadata. The
 * entry is checked against the rules when the call is sent, not here.
 * \return 0, -EINVAL (NULL list or key, or NULL value with a length),
 * -ENOMEM.
 */
LRPC_API int lrpc_metadata_list_add(lrpc_metadata_list *l, const char *key,
				    const void *value, size_t value_len);

/* What a call sends and receives beside its messages (since 0.3.0).
 * Zero it (or use LRPC_CALL_OPTS_INIT) and set what is wanted. */
typedef struct lrpc_call_opts {
	/* Request metadata: n_metadata entries, read before the call
	 * returns (the caller keeps ownership). */
	const lrpc_metadata *metadata;
	size_t n_metadata;
	/* If set, cleared and filled with the response headers and the
	 * trailers, whatever the call's code. */
	lrpc_metadata_list *headers;
	lrpc_metadata_list *trailers;
	void *reserved[4];
} lrpc_call_opts;
#define LRPC_CALL_OPTS_INIT { 0 }

/**
 * lrpc_channel_call() with \p opts (may be NULL). Request metadata that
 * breaks the rules is INVALID_ARGUMENT naming the key, a set over
 * LRPC_METADATA_MAX is RESOURCE_EXHAUSTED, and metadata on a transport
 * that does not carry it is UNIMPLEMENTED; nothing is sent then. (Every
 * transport carries it since 0.5.0; over unix:// and tcp:// a server
 * before 0.5.0 refuses a call with metadata or lists as INVALID_ARGUMENT,
 * docs/api.md.) Thread-safe on \p ch.
 * \return the call's status code.
 */
LRPC_API lrpc_code lrpc_channel_call_opts(lrpc_channel *ch,
					  const lrpc_method_desc *method,
					  const ProtobufCMessage *req,
					  ProtobufCMessage **rep,
					  lrpc_deadline deadline,
					  const lrpc_call_opts *opts,
					  lrpc_status *status);

/**
 * The same with bytes: \p req (\p req_len bytes, not checked by the client)
 * goes to method \p method_id; the reply is copied to \p rep (capacity
 * \p rep_cap) and its length stored in *rep_len. A reply longer than
 * \p rep_cap fails with LRPC_RESOURCE_EXHAUSTED. For tools and tests.
 */
LRPC_API lrpc_code lrpc_channel_call_raw(lrpc_channel *ch, uint32_t method_id,
					 const void *req, size_t req_len,
					 void *rep, size_t rep_cap,
					 size_t *rep_len,
					 lrpc_deadline deadline,
					 lrpc_status *status);

/**
 * A call by name with bytes and call options, for programs that learn
 * their methods at run time (the gateway, the lazyrpc tool; since 0.4.0):
 * \p req (\p req_len bytes, not checked) goes to \p full_name
 * ("/pkg.Svc/Method", whose lrpc_method_id() names it on the transports
 * that carry ids), with \p opts (may be NULL) as for
 * lrpc_channel_call_opts(). On LRPC_OK *rep is a malloc()ed copy of the
 * reply (NULL for an empty one) that the caller frees with free(), and
 * *rep_len its length; otherwise *rep is NULL and *rep_len 0. Works on
 * every transport, grpc:// included. Thread-safe on \p ch.
 * \return the call's status code.
 */
LRPC_API lrpc_code lrpc_channel_call_bytes(lrpc_channel *ch, const char *full_name,
					   const void *req, size_t req_len,
					   void **rep, size_t *rep_len,
					   lrpc_deadline deadline,
					   const lrpc_call_opts *opts,
					   lrpc_status *status);

/*
 * Client interceptors (since 0.5.0): code around every call a channel
 * makes, for logging, auth, tracing and metrics, as the server's are
 * around its handlers (server.h). A call is a unary call (synchronous or
 * asynchronous) or a stream, from its open to its end.
 */
typedef struct lrpc_client_call_info {
	lrpc_channel *channel;
	/* "/pkg.Svc/Method", or NULL for a raw call by method id. */
	const char *method;
	int stream; /* 1: a stream; 0: a unary call */
	/* The request metadata as it will be sent: the caller's, then what
	 * earlier interceptors added. */
	const lrpc_metadata *metadata;
	size_t n_metadata;
} lrpc_client_call_info;

typedef struct lrpc_client_interceptor {
	/* Before anything is sent, on the thread that starts the call.
	 * LRPC_OK lets it through; any other code fails the call with that
	 * code and the message written to why->message (or a default one),
	 * without sending it or running the later interceptors. \p add, when
	 * not NULL, takes request metadata to send after the caller's
	 * (lrpc_metadata_list_add()); it is NULL on calls that carry none
	 * (asynchronous calls started without call options, today;
	 * lrpc_channel_call_async_opts() with options carries it since
	 * 0.6.0). */
	lrpc_code (*before)(void *arg, const lrpc_client_call_info *info,
			    lrpc_metadata_list *add, lrpc_status *why);
	/* Once the call has ended, for every interceptor whose before ran
	 * (or that has none), the last added first: the call's code and
	 * status and the nanoseconds since the first before. On the thread
	 * that learnt the end: the caller's for a synchronous call, the one
	 * running lrpc_cq_run() just before an asynchronous call's callback,
	 * the one whose stream operation (or lrpc_stream_free()) ended a
	 * stream. */
	void (*after)(void *arg, const lrpc_client_call_info *info, lrpc_code code,
		      const lrpc_status *st, int64_t duration_ns);
	void *arg; /* passed to both; must outlive the channel */
	void *reserved[2];
} lrpc_client_interceptor;

/**
 * Add \p ic (copied) to the channel's chain, after those added before:
 * the first added runs first. Only before the channel's first call, and
 * not while another thread uses \p ch.
 * \return 0, -EINVAL (NULL, or both members NULL), -ENOSPC (8 already),
 * -EBUSY (the channel has made a call), -ENOMEM.
 */
LRPC_API int lrpc_channel_add_interceptor(lrpc_channel *ch,
					  const lrpc_client_interceptor *ic);

#ifdef __cplusplus
}
#endif
#endif
