/* SPDX-License-Identifier: MIT */
/*
 * One unix:// or tcp:// connection on the server (sock_server.c), as its
 * unary calls (sock_call.c) and streams (sock_stream_server.c) see it.
 * Loop thread only.
 */
#ifndef LRPC_SOCK_SERVER_H
#define LRPC_SOCK_SERVER_H

#include <stdatomic.h>

#include "serve/host.h"
#include "transport/transport.h"
#include "wire/frame.h"

/* Streams one connection may have open at once (a client's pool opens
 * one per connection; the rest is for peers that multiplex). */
#define LRPC__SOCK_STREAMS_PER_CONN 8u

struct sstream;
struct swork;

struct sconn {
	struct lrpc__peer peer; /* first: the host's list sees only this */
	union lrpc__uv_stream h;
	uv_timer_t timer; /* the idle or header timeout, whichever is due */
	uint64_t idle_since, header_since; /* uv_now(); header: 0 if none begun */
	int handles;      /* open: h and timer */
	struct lrpc__host *host;
	enum lrpc__scheme scheme; /* unix or tcp: whose count it is in */
	lrpc_peer who;            /* the client, for lrpc_call_peer() */
	unsigned char *rbuf;
	size_t rlen, rcap;
	unsigned int inflight; /* calls, streams and stream writes */
	size_t held; /* bytes of requests, replies, reservations, streams */
	bool closed, reading;
	/* sconn_close ran: the socket lingers or is closed, and nothing more is
	 * written on it (transport/linger.h). */
	bool closing;
	bool rejected; /* an error frame is on its way; nothing more is read */
	bool pumping; /* in sconn_pump: a nested call leaves it to the outer */
	struct swork *calls; /* unary calls taken, until answered */
	struct sstream *streams; /* open on this connection */
	unsigned int nstreams;
};

/* sock_server.c, for the calls and the streams. */
/* Going: the peer hung up or broke (@lingers false: close at once), or
 * we hang up on it (true: what we sent last must not be lost to a reset,
 * transport/linger.h). Nothing is written on @c from here on. */
void lrpc__sconn_close(struct sconn *c, bool lingers);
/* @c holds @delta more bytes (or fewer); the peak is for the stats. */
void lrpc__sconn_hold(struct sconn *c, ptrdiff_t delta);
/* Something counted in c->inflight is over. */
void lrpc__sconn_done(struct sconn *c);
/* Send an error frame saying why, then hang up. */
void lrpc__sconn_reject(struct sconn *c, uint64_t call_id, lrpc_code code,
			const char *message);

/* sock_call.c. */
/* Is there room on @c for one more call with request frame @f? One call
 * is always let through, or a large one could never run. */
bool lrpc__scall_room(const struct sconn *c, const struct lrpc__frame *f);
/* Take call frame @f, its body complete at @body (copied): its handler
 * runs, its reply is written, then lrpc__sconn_done(). \return false when
 * the connection was rejected or is closing: read no further. */
bool lrpc__scall_take(struct sconn *c, const struct lrpc__frame *f,
		      const unsigned char *body);
/* CANCEL for @call_id: if it is a call of @c's in flight, mark it
 * cancelled (its handler is told; its reply becomes a bare CANCELLED).
 * \return whether it was. */
bool lrpc__scall_cancel(struct sconn *c, uint64_t call_id);
/* @c is going: every call on it is cancelled. */
void lrpc__scalls_cancel(struct sconn *c);
/* An error reply frame (header and status message), malloc'd, *@len
 * bytes; NULL without memory. */
unsigned char *lrpc__sock_error_frame(uint64_t call_id, lrpc_code code,
				      const char *message, size_t *len);

/* sock_stream_server.c. */
/* Take stream frame @f (its body complete at @body). \return false when
 * the connection was rejected. */
bool lrpc__sstream_frame(struct sconn *c, const struct lrpc__frame *f,
			 const unsigned char *body);
/* The connection is going (@gone) or the server stopping: every stream
 * on @c is cancelled; each is freed once its handler returned. */
void lrpc__sstreams_cancel(struct sconn *c, bool gone);

#endif
