/* SPDX-License-Identifier: MIT */
/*
 * The host: the part of a server that its transports share (the server
 * object itself, server/server.c, adds listeners and the loop thread). A
 * transport sees the server through this alone: the options, the method
 * registry, the statistics, the loop, and one list of peers for every
 * transport, each with its own drain and close.
 */
#ifndef LRPC_HOST_H
#define LRPC_HOST_H

#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#include "core/internal.h"
#include "serve/registry.h"

struct lrpc__host;
struct lrpc__peer;

#define LRPC__ERROR_MAX 320

/* What the server asks of a peer. Both run on the loop thread. */
struct lrpc__peer_ops {
	/* The server is stopping: take no more calls; those in progress
	 * finish and their replies are sent. Never blocks. */
	void (*drain)(struct lrpc__peer *p);
	/* After drain, whenever the host is reaped: close the peer if every
	 * call it took is answered (closing takes it off the list). */
	void (*close)(struct lrpc__peer *p);
};

/* One connected client of any transport; embedded in its connection. */
struct lrpc__peer {
	const struct lrpc__peer_ops *ops;
	struct lrpc__host *host;
	struct lrpc__peer *prev, *next;
	bool listed;
	bool draining;
};

struct lrpc__host {
	lrpc_server_opts opts;
	uint32_t service_id; /* in every CALL word of every lane */
	struct lrpc__registry registry;

	uv_loop_t loop;
	/* Anything that finishes after a stop (a receiver, a call) tells the
	 * loop through this, which closes what has drained; it stays open
	 * until every peer is gone. */
	uv_async_t reap_async;
	_Atomic int stop_requested;
	struct lrpc__peer *peers; /* loop thread only */

	/* Receiver threads are detached; the server's free waits here for
	 * the last. */
	pthread_mutex_t lock;
	pthread_cond_t idle;

	/* Clients connected now, by transport: each has its own limits. */
	_Atomic unsigned int active[LRPC__SCHEME_COUNT];

	struct {
		_Atomic uint64_t clients_accepted, clients_rejected;
		_Atomic uint64_t clients_active, receivers_active;
		_Atomic uint64_t calls_ok, calls_failed, protocol_errors;
		_Atomic uint64_t conn_held_peak;
		_Atomic uint64_t streams_active; /* socket streams */
	} stats;
	/* Why the last lrpc_server_listen() failed, if a listener said. */
	char error[LRPC__ERROR_MAX];
	/* The socket limits, defaults resolved (server.c). */
	size_t conn_buffer;
	/* grpcs:// listeners' certificate (lrpc_server_set_tls), or NULL. */
	struct lrpc__tls_ctx *tls;
	/* lrpc:// placement (lrpc_server_set_numa); fixed once started. */
	lrpc_numa_mode numa;
	/* grpc://, grpcs:// PING keepalive (lrpc_server_set_keepalive); 0: off. */
	unsigned int keepalive_ms, keepalive_timeout_ms;
	/* Other users admitted (lrpc_server_set_peer_acl), or NULL; fixed
	 * once the first listener is up. */
	lrpc_peer_acl *acl;
};

/* peers.c, loop thread: join and leave the list. */
void lrpc__peer_add(struct lrpc__host *h, struct lrpc__peer *p,
		    const struct lrpc__peer_ops *ops);
void lrpc__peer_remove(struct lrpc__peer *p);

/* peers.c, loop thread: drain every peer (the server is stopping). */
void lrpc__host_drain(struct lrpc__host *h);

/* peers.c, loop thread, after a stop: close what has drained, and let the
 * loop end once nothing is left. */
void lrpc__host_reap(struct lrpc__host *h);

static inline void lrpc__count_call(struct lrpc__host *h, lrpc_code code)
{
	atomic_fetch_add_explicit(code == LRPC_OK ? &h->stats.calls_ok :
						    &h->stats.calls_failed,
				  1, memory_order_relaxed);
}

#endif
