/* SPDX-License-Identifier: MIT */
/*
 * Receiver threads: one per lane of an lrpc:// region, all running the one
 * receiver loop over the region's hand-off (receiver.c).
 */
#ifndef LRPC_RECEIVER_H
#define LRPC_RECEIVER_H

#include "handoff/handoff.h"
#include "serve/host.h"
#include "serve/numa.h"
#include "wire/lane.h"

/* What the receivers of one region share; embedded in its connection,
 * which must outlive them (each calls exited as its last act). */
struct lrpc__receivers {
	struct lrpc__host *host;
	void *base; /* the region */
	struct lrpc__geom geom;
	struct lrpc__hconn hand; /* the hand-off the handshake chose */
	lrpc_peer peer;          /* the client, for its handlers */
	struct lrpc__numa_place numa; /* where its receivers run */
	_Atomic int stop;
	_Atomic unsigned int alive;
	unsigned int started; /* threads created; the starter's only */
	/* Called on each receiver thread once it is done with the region;
	 * the one that finds alive at 0 after a stop has woken the loop. */
	void (*exited)(struct lrpc__receivers *rs);

	/* Receivers report their start before the welcome is sent. */
	pthread_mutex_t start_lock;
	pthread_cond_t start_cond;
	uint32_t start_done;
	int start_error;
};

void lrpc__receivers_init(struct lrpc__receivers *rs, struct lrpc__host *h);
void lrpc__receivers_destroy(struct lrpc__receivers *rs);

/* Start receiver threads until lanes [0, \p n) have one, and wait until
 * each has started its side of the hand-off: at the handshake, and on a
 * client's grow request (loop thread). \return 0, -errno (rs->started
 * threads run; stop them). */
int lrpc__receivers_start(struct lrpc__receivers *rs, uint32_t n);

/* The receiver thread: write the reply to the call \p seq on \p lane
 * (\p buf_size bytes of buffer), its response metadata after the reply,
 * its seq last, with release. A reply whose metadata does not fit becomes
 * RESOURCE_EXHAUSTED (\p rep is changed to say so). */
struct lrpc__reply;
void lrpc__lane_reply_write(struct lrpc__lane *lane, uint64_t buf_size,
			    uint64_t seq, struct lrpc__reply *rep);

/* Loop thread, once the client is gone: the calls in progress are
 * cancelled (each lane's cancel word, which lrpc_call_cancelled() reads;
 * the client can write it no more). */
void lrpc__receivers_cancel(struct lrpc__receivers *rs);

/* Any thread: take no more calls; a receiver in a call finishes it, a
 * receiver running a stream has its handler's waits return CANCELLED. */
void lrpc__receivers_stop(struct lrpc__receivers *rs);

#endif
