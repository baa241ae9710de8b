/* SPDX-License-Identifier: MIT */
/*
 * What lrpc:// channels share between the call path (lrpc_client.c) and
 * streams (lrpc_stream_client.c): the channel, its lanes and how a lane
 * is lent out.
 */
#ifndef LRPC_LRPC_CLIENT_H
#define LRPC_LRPC_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>

#include "handoff/handoff.h"
#include "transport/transport.h"
#include "wire/lane.h"

struct shm_chan;
struct shm_top;

struct chan_lane {
	struct lrpc__req_buf rb; /* first: the generic code sees only this */
	struct shm_chan *ch;     /* whose lane this is */
	struct lrpc__lane *lane;
	uint32_t call_word;
	uint64_t seq;
	_Atomic int use; /* enum lane_use */
	bool timed_out;  /* set by the holder: release as ABANDONED */
	/* Abandoned by a stream (lrpc_stream_client.c): back once the
	 * receiver wrote the stream's end. Written by the holder before
	 * the release that abandons it; cleared by the next taker. Atomic:
	 * a thread waiting for an abandoned lane reads it as a taker clears
	 * it. */
	_Atomic bool stream;
};

/*
 * Who may use a lane. ABANDONED: its call timed out and the receiver still
 * has it; it becomes usable once the receiver hands it back (see
 * lane_returned), so that a late reply is never read as a later call's.
 */
enum lane_use { LANE_FREE, LANE_BUSY, LANE_ABANDONED };

/*
 * One connection to the server: its region, lanes and monitor. A channel
 * (lrpc_channel.c) has one current connection and replaces it when the
 * server went away and is back; one that lent out lanes lives on until the
 * last comes back (refs). The memory of a connection is kept by the
 * channel until it closes and reused for later connections, so that a
 * thread that read the current one just before it was replaced may still
 * look at its refs (lrpc__chan_get).
 */
struct shm_chan {
	_Atomic unsigned int refs; /* the channel's while current, + lanes lent */
	struct shm_top *top;
	struct shm_chan *next;     /* every connection of the channel */
	bool spare;                /* torn down, free for reuse: top's lock */
	int ctl_fd;
	int wake_fd[2]; /* tells the monitor to quit */
	void *base;
	struct lrpc__geom geom;
	uint32_t service_id;
	struct lrpc__hclient hand;
	bool attached;

	struct chan_lane *lanes;
	/* Lanes [0, active) have a receiver; the server starts one more on
	 * request (lrpc_control.c), one request at a time. */
	_Atomic uint32_t active;
	_Atomic int grow_pending;
	/* Only callers that found no lane take the lock and wait. */
	pthread_mutex_t lock;
	pthread_cond_t freed;
	_Atomic unsigned int waiters;
	/* Called (lock held) wherever freed is broadcast: the asynchronous
	 * calls' dispatcher (lrpc_async.c), counted in waiters while set. */
	void (*freed_hook)(void *arg);
	void *freed_arg;

	_Atomic int dead;
	pthread_t monitor;
	bool monitor_started;
};

/* lrpc_client.c. Connect \p ch (zeroed memory, or a connection torn
 * down) to \p addr, by \p deadline; on error all it made is undone.
 * \return 0, -errno (see lrpc_channel_open). */
int lrpc__chan_dial(struct shm_chan *ch, const lrpc_channel_opts *o,
		    const struct lrpc__addr *addr, lrpc_deadline deadline,
		    lrpc_status *open_status);
/* Undo what dial made, keeping refs, top and next. */
void lrpc__chan_teardown(struct shm_chan *ch);
/* Lend a lane (FREE, or ABANDONED and handed back), blocking at most
 * until \p deadline; the lane holds a reference to \p ch, which the
 * caller must hold meanwhile. Release gives the lane and the reference
 * back. */
lrpc_code lrpc__chan_acquire(struct shm_chan *ch, lrpc_deadline deadline,
			     struct lrpc__req_buf **out, lrpc_status *st);
void lrpc__chan_release(struct shm_chan *ch, struct lrpc__req_buf *rb);
/* The same without blocking: a free lane (with its reference) or NULL. */
struct chan_lane *lrpc__chan_try_acquire(struct shm_chan *ch);
/* Lock held: wake whoever waits for a lane (freed, freed_hook). */
void lrpc__chan_wake_waiters(struct shm_chan *ch);
/* A call's steps on a lent lane: write its metadata; after the hand-off
 * published it and returned \p ret (0: the lane's tx word left CALL), read
 * the reply (valid until release) or the failure. */
void lrpc__chan_prepare(struct chan_lane *cl, uint32_t method_id,
			size_t req_len, lrpc_deadline deadline);
lrpc_code lrpc__chan_finish(struct shm_chan *ch, struct chan_lane *cl, int ret,
			    lrpc_deadline deadline, const unsigned char **rep,
			    size_t *rep_len, lrpc_status *st);
/* After prepare, for a call whose rb.n_md is not 0: write rb.md after
 * the request (req_len bytes). \return LRPC_OK, or RESOURCE_EXHAUSTED
 * (request and metadata do not fit the lane; nothing written) with \p st.
 * Finish fills rb.headers and rb.trailers, where not NULL. */
lrpc_code lrpc__chan_put_md(struct chan_lane *cl, size_t req_len, lrpc_status *st);
/* Run one call on a lent lane (the channel's invoke): prepare, the
 * hand-off's call, finish. */
lrpc_code lrpc__chan_invoke(struct shm_chan *ch, struct lrpc__req_buf *rb,
			    uint32_t method_id, size_t req_len,
			    lrpc_deadline deadline, const unsigned char **rep,
			    size_t *rep_len, lrpc_status *st);

/* lrpc_channel.c: references to a connection; the last one tears it
 * down and gives its memory back to the channel. */
void lrpc__chan_ref(struct shm_chan *ch);
void lrpc__chan_unref(struct shm_chan *ch);
/* The connection of \p c to use (a reference), redialling one whose
 * server went away; NULL with *code and \p st set if there is none. */
struct shm_chan *lrpc__chan_use(lrpc_channel *c, lrpc_deadline deadline,
				lrpc_code *code, lrpc_status *st);

/* The current connection if its server lives (a reference), else NULL;
 * never dials. */
struct shm_chan *lrpc__chan_current(lrpc_channel *c);
/* Where the channel keeps lrpc_async.c's state. */
struct lrpc__lasync;
_Atomic(struct lrpc__lasync *) *lrpc__chan_async_slot(lrpc_channel *c);

/* lrpc_async.c: the channel's start, abandon, and what its close stops. */
void lrpc__lrpc_async_start(lrpc_channel *c, struct lrpc_async *p);
void lrpc__lrpc_async_abandon(lrpc_channel *c, struct lrpc_async *p);
void lrpc__lrpc_async_close(lrpc_channel *c);

/* lrpc_control.c: the monitor thread (until the server is gone or
 * wake_fd is written), and asking for one more lane, called with the
 * lock held by a caller that found none free. \return true if an answer
 * is coming (freed will be broadcast), false if no more may be asked. */
void *lrpc__shm_monitor(void *arg);
bool lrpc__shm_grow(struct shm_chan *ch);

/* lrpc_stream_client.c: the channel's stream_open. */
lrpc_code lrpc__chan_stream_open(struct shm_chan *ch, uint32_t method_id,
				 lrpc_deadline deadline, const lrpc_call_opts *opts,
				 struct lrpc__cstream **out, lrpc_status *st);
/* Is the receiver of \p cl done with the stream \p cl->seq: has it
 * written its end, or refused its open (then no stream ran)? Never
 * blocks. */
bool lrpc__lane_stream_ended(const struct chan_lane *cl);
/* Block a while (at most until \p deadline, or the server's death) for
 * that. */
void lrpc__lane_stream_wait_ended(struct shm_chan *ch, struct chan_lane *cl,
				  lrpc_deadline deadline);

#endif
