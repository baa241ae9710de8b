/* SPDX-License-Identifier: MIT */
/*
 * lazyrpc: serving generated services.
 *
 *   lrpc_server *srv;
 *   lrpc_server_new(NULL, &srv);
 *   greeter__greeter__register(srv, &handlers, NULL);
 *   lrpc_server_listen(srv, "lrpc://greeter");
 *   lrpc_server_run(srv);            // until lrpc_server_stop()
 *   lrpc_server_free(srv);
 */
#ifndef LAZYRPC_SERVER_H
#define LAZYRPC_SERVER_H

#include <sys/types.h>

#include "common.h"
#include "service.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lrpc_server lrpc_server;

typedef struct lrpc_server_opts {
	/* Receiver contexts (and threads) each lrpc:// client starts with;
	 * 0: one per CPU. */
	unsigned int receivers;
	/* Largest request or reply in bytes; 0: LRPC_DEFAULT_MAX_MSG. */
	size_t max_msg_size;
	/* Most clients connected at once; 0: 64. */
	unsigned int max_clients;
	/* Peers allowed to connect: same uid as the server unless set. */
	int allow_any_uid;
	/*
	 * unix://, tcp:// and grpc:// (unary calls) only: run handlers on
	 * the socket I/O thread instead of the worker pool. That saves two
	 * thread hand-offs a call (about half the latency with everything on
	 * one CPU), but a handler that blocks or runs long then stalls every
	 * socket client of this server. For short, non-blocking handlers
	 * only. lrpc:// always runs handlers on its receiver threads, and
	 * streaming methods run on threads of their own.
	 */
	int inline_handlers;
	/*
	 * lrpc:// (since 0.2.0, in what was padding in 0.1.0): a client whose
	 * calls and streams find every receiver busy (or held by a call it
	 * gave up on) gets one more, up to this many; a receiver is a thread
	 * and a lane of max_msg_size bytes of the client's region. 0: 4 x
	 * receivers, at least 8, at most 1024; less than receivers counts as
	 * receivers; above 1024: -EINVAL. (A 0.1.0 program that filled its
	 * options without lrpc_server_opts_init() may leave garbage here.)
	 */
	unsigned int max_receivers;
	/*
	 * unix:// and tcp:// (since 0.1.1, in what was reserved; zero keeps
	 * the default). Each socket transport counts its own connections.
	 * Memory the server holds for socket peers is bounded by
	 * max_conns x (max_msg_size + 96 KiB + max_conn_buffer_kib KiB) per
	 * transport, plus 2 x (max(max_msg_size, 64 KiB) + 4 KiB) for each
	 * open stream (at most max_streams, and 8 on one connection; see
	 * docs/api.md).
	 */
	unsigned int max_conns;       /* connections at once; 0: 64 */
	unsigned int max_pipelined;   /* calls one connection may queue; 0: 64 */
	/* Requests and unsent replies one connection may hold, in KiB; its
	 * reading pauses at the limit. 0: 2 x max_msg_size + 64 KiB. */
	unsigned int max_conn_buffer_kib;
	/* A connection with no call in progress and nothing arriving for
	 * this long is closed; 0: 60000. */
	unsigned int idle_timeout_ms;
	/* A frame header (32 bytes) must arrive within this long of its
	 * first byte, or the connection is closed; 0: 10000. */
	unsigned int header_timeout_ms;
	/* Streams open at once over unix:// and tcp:// together (since
	 * 0.2.0, in what was reserved1): each runs its handler on a thread
	 * of its own. One more is refused with RESOURCE_EXHAUSTED, as is a
	 * ninth on one connection. 0: 64. */
	unsigned int max_streams;
} lrpc_server_opts;

#define LRPC_DEFAULT_MAX_MSG ((size_t)4 << 20)
#define LRPC_MAX_MSG_LIMIT ((size_t)1 << 30)

/** Fill \p opts with the defaults. */
LRPC_API void lrpc_server_opts_init(lrpc_server_opts *opts);

/**
 * Create a server. \p opts may be NULL (defaults); it is copied.
 * \return 0, -EINVAL (bad option), -ENOMEM. The caller owns *out and
 * releases it with lrpc_server_free().
 */
LRPC_API int lrpc_server_new(const lrpc_server_opts *opts, lrpc_server **out);

/**
 * Serve \p desc with \p handlers (a generated <Service>_Handlers table) and
 * \p user passed to each handler. Both pointers must outlive the server.
 * Usually called through the generated <pkg>__<svc>__register().
 * Only before lrpc_server_start().
 * \return 0, -EINVAL (bad description), -EEXIST (service or method id
 * already registered), -EBUSY (already started), -ENOMEM.
 */
LRPC_API int lrpc_server_add_service(lrpc_server *srv,
				     const lrpc_service_desc *desc,
				     const void *handlers, void *user);

/**
 * The \p i-th service added (in lrpc_server_add_service() order), or NULL
 * past the last: for tools such as reflection. The services are fixed once
 * the server has started; from then on any thread may ask. Since 0.3.0.
 */
LRPC_API const lrpc_service_desc *lrpc_server_service(const lrpc_server *srv,
						       size_t i);

/**
 * Have lrpc_server_free() call \p fn(\p arg) once every thread of the
 * server has stopped and no handler runs, before it frees the server:
 * where state that handlers use (their \p user) can be released. Called
 * in reverse order of registration, on the thread of lrpc_server_free();
 * not called if this fails. Only before lrpc_server_start(). Since 0.3.0.
 * \return 0, -EINVAL (NULL argument), -EBUSY (already started), -ENOMEM.
 */
LRPC_API int lrpc_server_on_free(lrpc_server *srv, void (*fn)(void *arg),
				 void *arg);

/**
 * Have the server call \p fn(\p arg) when it begins to stop (the loop acts
 * on lrpc_server_stop(), or lrpc_server_free() stops it), after its
 * listeners close and before it drains its connections: open connections
 * still make calls and carry streams while \p fn runs, and their drain
 * (unary calls finish, streams end UNAVAILABLE) waits until every \p fn
 * has returned. For what clients should see before the server goes: a
 * health service sends NOT_SERVING there. Called once each, in order of
 * registration, on a thread of the server's own (neither the caller of
 * lrpc_server_stop() nor a handler's, nor libuv's pool); \p fn may
 * block for a bounded time, and the stop waits for it. If no thread can
 * be made for them, the stop goes on without the hooks. Not called if this fails, nor for a
 * server never stopped. Only before lrpc_server_start(). Since 0.5.0.
 * \return 0, -EINVAL (NULL argument), -EBUSY (already started), -ENOMEM.
 */
LRPC_API int lrpc_server_on_stop(lrpc_server *srv, void (*fn)(void *arg),
				 void *arg);

/**
 * Whether lrpc_server_stop() has been called on \p srv (false for NULL):
 * for a handler that answers differently from then on, before the
 * on_stop hooks have run. Thread-safe, never blocks. Since 0.5.0.
 */
LRPC_API bool lrpc_server_stopping(const lrpc_server *srv);

/**
 * Listen on \p uri, as many times as wanted (up to 8) before start:
 * "lrpc://NAME" (shared call contexts; NAME resolved in the runtime
 * directory, see lrpc_runtime_dir()), "unix://PATH" or "tcp://HOST:PORT"
 * (framed sockets; port 0 picks a free port, see lrpc_server_listener_uri),
 * "grpc://HOST:PORT" (gRPC over HTTP/2, h2c) and "grpcs://HOST:PORT" (the
 * same over TLS, after lrpc_server_set_tls(); since 0.3.0).
 * \return 0, -EINVAL (bad uri), -ENOKEY (grpcs:// before
 * lrpc_server_set_tls()), -EADDRINUSE (a live server has the name or
 * address), -EADDRNOTAVAIL (host does not resolve), -EACCES (the runtime
 * directory belongs to someone else or is open to others: see
 * lrpc_server_error()),
 * -ENAMETOOLONG, -EPROTONOSUPPORT (unknown scheme), -ENOSPC (too many
 * listeners), -EBUSY (already started), other -errno.
 */
LRPC_API int lrpc_server_listen(lrpc_server *srv, const char *uri);

/**
 * Why the last lrpc_server_listen() failed, in words, when more can be
 * said than its errno (a runtime directory open to others: which, and what
 * to do), else "". Valid until the next call on \p srv. Since 0.1.1.
 */
LRPC_API const char *lrpc_server_error(const lrpc_server *srv);

/**
 * The URI the \p i-th listener (in lrpc_server_listen() order) is bound to,
 * with the real port for "tcp://HOST:0". \return 0, -EINVAL (no such
 * listener), -ENAMETOOLONG (\p len too small).
 */
LRPC_API int lrpc_server_listener_uri(const lrpc_server *srv, unsigned int i,
				      char *buf, size_t len);

/**
 * Admit calls over lrpc:// and unix:// from processes of the users and
 * groups in \p acl too, besides the server's own effective uid (since
 * 0.4.0; see lrpc_peer_acl; NULL or empty: own uid only, the default).
 * \p acl is copied. With a list, sockets are made mode 0666 (the server's
 * check is then the gate, so the directory's mode decides who can reach
 * them) and the runtime directory may also be a shared one: sticky,
 * writable by one of \p acl's groups and nobody else (install -d -m 1770
 * -g GROUP). lrpc_server_opts.allow_any_uid still admits everyone. Only
 * before the first lrpc_server_listen().
 * \return 0, -EINVAL (NULL server, or a list over LRPC_PEER_ACL_MAX),
 * -EBUSY (a listener exists, or started), -ENOMEM.
 */
LRPC_API int lrpc_server_set_peer_acl(lrpc_server *srv, const lrpc_peer_acl *acl);

/**
 * PING keepalive on grpc:// and grpcs:// connections (since 0.3.0): a
 * connection from which nothing was heard for \p interval_ms gets an
 * HTTP/2 PING, and is closed if nothing more is heard within
 * \p timeout_ms (0: 20000), so that a client that vanished without a
 * word (a dead host, a cut network) does not hold its streams forever.
 * Anything the client sends counts as heard. \p interval_ms 0 (the
 * default) turns it off. Only before lrpc_server_start().
 * \return 0, -EINVAL (NULL), -EBUSY (started).
 */
LRPC_API int lrpc_server_set_keepalive(lrpc_server *srv, unsigned int interval_ms,
				       unsigned int timeout_ms);

/**
 * The certificate and key (and, with ca_file, the clients' CA) of this
 * server's grpcs:// listeners (since 0.3.0). The files are read now;
 * \p tls is not kept. Only before lrpc_server_start(); a second call
 * replaces the first. See lrpc_server_error() for why a file was refused.
 * \return 0, -EINVAL (a file missing, unreadable, not PEM, or a key that
 * does not match its certificate), -EBUSY (started), -ENOMEM.
 */
LRPC_API int lrpc_server_set_tls(lrpc_server *srv, const lrpc_tls_opts *tls);

/*
 * Where an lrpc:// client's region (the shared memory its calls and replies
 * go through) and its receiver threads go on a NUMA machine (since 0.6.0).
 * On a machine of one node, or a library built without libnuma
 * (lrpc_numa_nodes() below 2), every mode does nothing.
 */
typedef enum lrpc_numa_mode {
	/* The default: the kernel's own placement (a page goes where it is
	 * first touched, a thread wherever the scheduler puts it). */
	LRPC_NUMA_OFF = 0,
	/* Each client's receivers run on the CPUs of the node the client was
	 * on when it connected (as many of them as the server may use), and
	 * its region prefers that node's memory: calls never cross the
	 * interconnect while the client stays there. A client that does not
	 * say where it is (before 0.6.0) is left to the kernel. */
	LRPC_NUMA_FOLLOW_CLIENT = 1,
	/* Each client's region is interleaved page by page across the
	 * server's nodes; receivers are not pinned. For clients that move
	 * between nodes: every call costs the average, never the worst. */
	LRPC_NUMA_INTERLEAVE = 2,
} lrpc_numa_mode;

/**
 * Place lrpc:// clients' regions and receivers by \p mode (since 0.6.0;
 * see lrpc_numa_mode). It applies to clients that connect from then on,
 * and only before lrpc_server_start(). Pinned receivers keep the CPUs of
 * their client's node for the connection's life; the server's own
 * affinity (taskset, a cpuset) still bounds them, and where it leaves no
 * CPU of that node they are not pinned. One thread, like the other
 * setters before start.
 * \return 0, -EINVAL (NULL or not a mode), -EBUSY (started).
 */
LRPC_API int lrpc_server_set_numa(lrpc_server *srv, lrpc_numa_mode mode);

/**
 * \p s ("off", "follow-client" or "interleave") as a mode, for a
 * program's flags and config files (since 0.6.0). Thread-safe; \p s is
 * not kept.
 * \return 0, -EINVAL (NULL or none of those).
 */
LRPC_API int lrpc_numa_mode_parse(const char *s, lrpc_numa_mode *out);

/** The name lrpc_numa_mode_parse() takes for \p mode, or "?" (since
 * 0.6.0): a static string. Thread-safe. */
LRPC_API const char *lrpc_numa_mode_name(lrpc_numa_mode mode);

/**
 * The NUMA nodes lrpc_server_set_numa() places across (since 0.6.0): 0
 * if the library was built without libnuma or the kernel has no NUMA
 * support, else the nodes this process may allocate memory on. Below 2,
 * placement does nothing. Thread-safe.
 */
LRPC_API unsigned int lrpc_numa_nodes(void);

/*
 * An interceptor (since 0.3.0): code around every call's handler, for
 * logging, auth and metrics, that sees the method (lrpc_call_method()),
 * the request metadata, the peer, the status and the duration. Members run
 * on the handler's thread; either may be NULL.
 */
typedef struct lrpc_interceptor {
	/* Before the handler: LRPC_OK lets the call through; any other code
	 * ends it with that code (and lrpc_call_set_message()'s message),
	 * without the handler or the later interceptors. */
	lrpc_code (*before)(void *arg, lrpc_call *call);
	/* After the call ended, for every interceptor whose before ran, the
	 * last added first: its code (the handler's, a refusal's, or a
	 * reply that could not be sent) and the nanoseconds since the first
	 * before. May add trailers (lrpc_call_add_trailer()). */
	void (*after)(void *arg, lrpc_call *call, lrpc_code code, int64_t duration_ns);
	void *arg; /* passed to both; must outlive the server */
	void *reserved[2];
} lrpc_interceptor;

/**
 * Add \p ic (copied) to the server's chain, after those added before: the
 * first added runs first and sees the call before the others. Unary calls
 * and streams alike; a call to an unknown method reaches none. Only
 * before lrpc_server_start().
 * \return 0, -EINVAL (NULL, or both members NULL), -ENOSPC (8 already),
 * -EBUSY (started).
 */
LRPC_API int lrpc_server_add_interceptor(lrpc_server *srv, const lrpc_interceptor *ic);

/**
 * Start serving in background threads and return.
 * \return 0, -EINVAL (nothing to listen on or no service), -EBUSY, -errno.
 */
LRPC_API int lrpc_server_start(lrpc_server *srv);

/**
 * Start if needed, then block until lrpc_server_stop().
 * \return 0 after a stop, or what lrpc_server_start() returned.
 */
LRPC_API int lrpc_server_run(lrpc_server *srv);

/**
 * Ask the server to stop: no new calls are accepted, calls in progress
 * finish. Thread-safe and async-signal-safe, so it can be called from a
 * SIGTERM handler.
 */
LRPC_API void lrpc_server_stop(lrpc_server *srv);

/** Stop (if running), wait for every thread, unlink names, free. NULL is allowed. */
LRPC_API void lrpc_server_free(lrpc_server *srv);

typedef struct lrpc_server_stats {
	uint64_t clients_accepted;
	uint64_t clients_rejected; /* bad handshake, uid, or max_clients */
	uint64_t clients_active;   /* connected now */
	uint64_t receivers_active; /* receiver threads alive now */
	uint64_t calls_ok;
	uint64_t calls_failed;     /* any non-OK status sent */
	uint64_t protocol_errors;  /* garbage seen in a client's region */
	/* The most bytes of requests and unsent replies one socket
	 * connection has held (since 0.1.1). */
	uint64_t conn_held_peak;
	/* Socket streams open now, their handlers running or their ends
	 * still being sent (since 0.2.0). */
	uint64_t streams_active;
	uint64_t reserved[6];
} lrpc_server_stats;

/** Snapshot of the counters; thread-safe. \p srv NULL gives zeros. */
LRPC_API void lrpc_server_stats_get(lrpc_server *srv, lrpc_server_stats *out);

/**
 * The runtime directory that "lrpc://NAME" resolves in: $LAZYRPC_DIR, else
 * $XDG_RUNTIME_DIR/lazyrpc, else /tmp/lazyrpc-$UID. Writes at most \p len
 * bytes to \p buf. \return 0, -ENAMETOOLONG.
 */
LRPC_API int lrpc_runtime_dir(char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
