/* SPDX-License-Identifier: MIT */
/*
 * A unix:// or tcp:// channel's pool of connections (sock_client.c), as
 * its streams (sock_stream_client.c) borrow them: a stream takes one for
 * its whole life and gives it back only if it ended cleanly.
 *
 * The framing carries one call at a time on a synchronous connection, so
 * the pool holds one connection per call or stream in progress, and at
 * most max_conns of them (lrpc_channel_set_max_conns(), by default below
 * the server's own default limit): beyond, a call waits for one to be given
 * back, until its deadline.
 */
#ifndef LRPC_SOCK_POOL_H
#define LRPC_SOCK_POOL_H

#include <pthread.h>
#include <stdatomic.h>

#include "transport/transport.h"

struct sock_conn {
	struct lrpc__req_buf rb; /* first: buf = mem + header */
	unsigned char *mem;
	size_t mem_cap;
	int fd;
	bool broken;
	uint64_t next_id; /* the last call or stream id used */
	/* Calls given up on (a CANCEL sent) whose one frame has not been
	 * read yet: the next call skips them (sock_client.c). */
	unsigned int owed;
	struct sock_conn *next;
};

struct sock_chan {
	struct lrpc__addr addr;
	size_t max_msg;
	int64_t connect_timeout_ms;
	pthread_mutex_t lock;
	pthread_cond_t freed; /* a connection went idle or was closed */
	struct sock_conn *idle;
	unsigned int open, max_conns; /* connections now (idle or lent); cap */
	/* sock_async.c's connections and watcher, made on first use */
	_Atomic(struct lrpc__sock_async *) async;
};

/* Take an idle connection, or open one by \p deadline, or wait until
 * then for one when max_conns are open (DEADLINE_EXCEEDED, saying so, if
 * none came); a stream (\p clean) never gets one that still owes frames
 * of cancelled calls. Thread-safe. */
lrpc_code lrpc__sock_take(struct sock_chan *ch, lrpc_deadline deadline,
			  bool clean, struct sock_conn **out, lrpc_status *st);
/* Give \p conn back to the pool, or close it if it is broken or the cap
 * was lowered below the connections open; either wakes one call waiting
 * for a connection. Thread-safe. */
void lrpc__sock_give(struct sock_chan *ch, struct sock_conn *conn);

/* sock_async.c: the channels' start and abandon, and what close stops. */
void lrpc__sock_async_start(lrpc_channel *c, struct lrpc_async *p);
void lrpc__sock_async_abandon(lrpc_channel *c, struct lrpc_async *p);
void lrpc__sock_async_close(lrpc_channel *c);

/* sock_stream_client.c: chan_ops.stream_open of the socket channels. */
lrpc_code lrpc__sock_stream_open(lrpc_channel *c, uint32_t method_id,
				 const char *full_name,
				 lrpc_deadline deadline, const lrpc_call_opts *opts,
				 struct lrpc__cstream **out, lrpc_status *st);

#endif
