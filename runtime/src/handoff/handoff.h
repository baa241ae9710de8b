/* SPDX-License-Identifier: MIT */
/*
 * Hand-offs: how the CPU passes from a caller to a receiver and back over
 * one lane of an lrpc:// region. The lanes, the call and reply metadata and
 * the buffers are the same for every hand-off (lane.h); a hand-off decides
 * only how a call is published and waited for, and how a receiver waits
 * for the next one.
 *
 * One ops table per hand-off (futex.c, rpal_kernel.c, rpal_user.c, beside
 * this file), all
 * listed in handoff.c, best first. handoff.c alone knows their names, reads
 * LAZYRPC_HANDOFF, caches the probes and negotiates the handshake; nothing
 * else compares hand-off names. A new hand-off is one more file and one
 * more entry in that list.
 */
#ifndef LRPC_HANDOFF_H
#define LRPC_HANDOFF_H

#include "core/internal.h"
#include "wire/handshake.h"
#include "wire/lane.h"

struct lrpc__handoff;

/* A client channel's side of its hand-off; filled by attach. */
struct lrpc__hclient {
	const struct lrpc__handoff *ops;
	const _Atomic int *dead; /* set once the server is known gone */
	uint32_t peer;           /* the server as the kernel knows it */
	uint64_t grant;          /* kernel hand-offs: the key it was asked by */
	void *priv;              /* the hand-off's own: attach to detach */
};

/* A server connection's side: what every receiver of it shares. */
struct lrpc__hconn {
	const struct lrpc__handoff *ops;
	const _Atomic int *stop; /* receivers return once it is set */
	uint32_t service_id;     /* the server's, in every CALL word */
	uint32_t client_id;      /* what the client offered in its hello */
	uint64_t client_key;     /* rpal-user: the client's key, from the hello */
};

/* One receiver thread's side, on that thread's stack. */
struct lrpc__hrecv {
	const struct lrpc__hconn *conn;
	struct lrpc__lane *lane;
	uint32_t call_word; /* the CALL word of this lane */
	bool replying;      /* a call was taken: the next wait answers it */
	/* Receiver context in the thread's own memory, for hand-offs whose
	 * kernel must not read a word the client can write. */
	struct lrpc__rx_ctx own;
	void *priv; /* the hand-off's own: recv_start to recv_stop */
	/* Serve the call on the lane as the receiver loop does after a
	 * reply_wait that returned 1 (its reply is then written), for
	 * hand-offs whose calls run the receiver's code elsewhere (rpal-user:
	 * on the caller's thread, with this receiver's TLS, while this thread
	 * sleeps in its wait). Set by the receiver loop, with owner. */
	void (*serve)(struct lrpc__hrecv *r);
	void *owner;
};

/*
 * The table. Unless said otherwise a member may block only as its comment
 * says, is called without locks held, and returns 0 or a negative errno.
 */
struct lrpc__handoff {
	const char *name; /* as in the handshake and lrpc_channel_handoff() */

	/* The kernel lets peers of this hand-off request each other only
	 * if each may ptrace the other (K2 will let them run code in each
	 * other), so a server that offers it must stay dumpable. */
	bool peers_may_ptrace;

	/* Can this process use it at all? Called through
	 * lrpc__handoff_available() only, which caches the answer. */
	bool (*probe)(void);
	/* NULL, or the hand-off works only in processes started in an RPAL
	 * slot (lazyrpc-exec), and not in their fork children: then, would
	 * this kernel offer it to such a process? (The test harness starts
	 * its processes that way for it.) */
	bool (*probe_in_slot)(void);

	/* Client, handshake: the id and key to offer the server in the hello
	 * (0 for none; both start 0). May enable the process with the kernel. */
	int (*offer)(uint32_t *id, uint64_t *key);
	/* Server, loop thread, handshake: take this hand-off for the client
	 * whose hello is \p h? Fills c->client_id and its part of \p w.
	 * \return 0, -EPROTONOSUPPORT (not for this client), -errno. */
	int (*accept)(struct lrpc__hconn *c, const struct lrpc__hello *h,
		      struct lrpc__welcome *w);
	/* Client: after the region is mapped, attach to what the welcome
	 * grants; detach undoes a successful attach. */
	int (*attach)(struct lrpc__hclient *c, const struct lrpc__welcome *w);
	void (*detach)(struct lrpc__hclient *c);

	/* Client, the calling thread: the call metadata and request are in
	 * \p lane; publish the call and block until the reply is written or
	 * \p deadline. \return 0 replied, -ETIMEDOUT, -ECONNRESET (server
	 * gone), -EDEADLK (this thread cannot call with this hand-off),
	 * -EPROTO (the receiver is not taking calls). */
	int (*call)(struct lrpc__hclient *c, struct lrpc__lane *lane,
		    uint32_t call_word, lrpc_deadline deadline);
	/* Client, any thread: publish the call as call does, without waiting
	 * for the reply: call is send and a wait on the lane's tx.state
	 * word, which leaves LRPC__TX_CALL once the reply is written (or
	 * peer_gone ran), and whose waker makes the futex syscall when
	 * tx.sleepers is nonzero. A watcher of many lanes (transport/
	 * lrpc_async.c) counts itself in tx.sleepers and waits on those
	 * words. \return 0, -EPROTO (the receiver is not taking calls).
	 * NULL: calls block the caller (rpal-kernel: the kernel switches the
	 * caller's CPU to the receiver). */
	int (*send)(struct lrpc__hclient *c, struct lrpc__lane *lane,
		    uint32_t call_word);
	/* Client: has the receiver handed back a lane whose call (sequence
	 * number \p seq) timed out? Never blocks. */
	bool (*returned)(struct lrpc__lane *lane, uint64_t seq);
	/* Client: block a while (at most until \p deadline) for that. */
	void (*wait_returned)(struct lrpc__lane *lane, uint64_t seq,
			      lrpc_deadline deadline);
	/* Client, monitor thread: the server is gone; release a thread that
	 * waits on \p lane. */
	void (*peer_gone)(struct lrpc__lane *lane);

	/* Server, the receiver thread, before its first wait. The handshake's
	 * welcome is sent only once every receiver has started. */
	int (*recv_start)(struct lrpc__hrecv *r);
	/* Server, the receiver thread: answer the call taken last, if
	 * r->replying, then block for the next one. \return 1 a call for this
	 * lane is in it; 0 woken by something that is not (a protocol error,
	 * counted by the caller); -ESHUTDOWN once *r->conn->stop is seen. */
	int (*reply_wait)(struct lrpc__hrecv *r);
	/* Server, the receiver thread, with r->replying: answer the call
	 * taken last (its reply is written) and return at once, without
	 * waiting for the next; the receiver goes on running (a stream).
	 * Clears r->replying, unless answering took another call, which
	 * the next reply_wait then answers. */
	void (*answer)(struct lrpc__hrecv *r);
	/* Server, the receiver thread, last: release a caller still waiting
	 * and undo recv_start. */
	void (*recv_stop)(struct lrpc__hrecv *r);
	/* Server, any thread, after setting *stop: make the receiver of
	 * \p lane notice soon. Never blocks. */
	void (*kick)(struct lrpc__lane *lane);
};

extern const struct lrpc__handoff lrpc__handoff_futex;
extern const struct lrpc__handoff lrpc__handoff_rpal_kernel;
extern const struct lrpc__handoff lrpc__handoff_rpal_user;

/* May this process use \p h? Probed once per process; LAZYRPC_HANDOFF
 * naming another hand-off rules out all but the fallback (futex). */
bool lrpc__handoff_available(const struct lrpc__handoff *h);

/* Does a hand-off this process may use need it to stay dumpable
 * (peers_may_ptrace)? */
bool lrpc__handoff_needs_dumpable(void);

/* The hand-off \p name, available or not. \return NULL when unknown. */
const struct lrpc__handoff *lrpc__handoff_find(const char *name);

/* The i-th hand-off, best first. \return NULL past the last. */
const struct lrpc__handoff *lrpc__handoff_at(unsigned int i);

/*
 * Client: the hand-off to ask for (\p want, else LAZYRPC_HANDOFF, else
 * NULL for the best the server offers), and the hello that says so.
 * \return 0, -EPROTONOSUPPORT (unknown or not available here).
 */
int lrpc__handoff_hello(const char *want, struct lrpc__hello *h,
			const struct lrpc__handoff **wanted);

/* Server: the best hand-off both sides have that the hello allows; fills
 * \p c and the welcome's name and grant. \return 0 or a positive errno. */
int lrpc__handoff_accept(const struct lrpc__hello *h, struct lrpc__hconn *c,
			 struct lrpc__welcome *w);

/* Client: the hand-off the welcome names, if this side may use it and it
 * is the one asked for (\p wanted, NULL: any). \return NULL otherwise. */
const struct lrpc__handoff *
lrpc__handoff_welcomed(const struct lrpc__welcome *w,
		       const struct lrpc__handoff *wanted);

#endif
