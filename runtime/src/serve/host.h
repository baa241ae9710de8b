/* SPDX-License-Identifier: MIT */
/* The server's private state, shared by server*.c and call.c. */
#ifndef LRPC_SERVER_INTERNAL_H
#define LRPC_SERVER_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>
#include <uv.h>

#include "handoff/handoff.h"
#include "core/internal.h"

#define LRPC__MAX_LISTENERS 8

struct lrpc__method_entry {
	uint32_t id;
	const lrpc_method_desc *method;
	const void *handlers;
	void *user;
};

/* A libuv stream that is a pipe or a TCP socket, seen as either. */
union lrpc__uv_stream {
	uv_handle_t handle;
	uv_stream_t stream;
	uv_pipe_t pipe;
	uv_tcp_t tcp;
};

struct lrpc__listener {
	union lrpc__uv_stream h;
	enum lrpc__scheme scheme;
	char path[108]; /* socket file to remove at the end, or "" */
	char uri[300];  /* as bound (tcp: with the real port) */
};

struct lrpc__conn;
struct lrpc__sconn;

struct lrpc_server {
	lrpc_server_opts opts;
	uint32_t service_id;

	/* Sorted by id; fixed once the server starts. */
	struct lrpc__method_entry *methods;
	size_t nmethods;
	size_t nservices;

	uv_loop_t loop;
	uv_async_t stop_async;
	/* Receivers that exit after a stop tell the loop, which closes their
	 * connections once the last is gone; open until everything is. */
	uv_async_t reap_async;
	struct lrpc__listener listeners[LRPC__MAX_LISTENERS];
	unsigned int nlisteners;
	struct lrpc__conn *conns;   /* loop thread only */
	struct lrpc__sconn *sconns; /* loop thread only */
	pthread_t loop_thread;
	bool started, joined;
	_Atomic int stop_requested;

	/* Receiver threads are detached; free waits here for the last. */
	pthread_mutex_t lock;
	pthread_cond_t idle;

	struct {
		_Atomic uint64_t clients_accepted, clients_rejected;
		_Atomic uint64_t clients_active, receivers_active;
		_Atomic uint64_t calls_ok, calls_failed, protocol_errors;
	} stats;
};

/* One connected client: its region and its receiver threads. */
struct lrpc__conn {
	uv_pipe_t pipe;
	uv_timer_t hello_timer; /* a client that never says hello is dropped */
	lrpc_server *srv;
	struct lrpc__conn *prev, *next;
	int memfd;
	void *base;
	struct lrpc__geom geom;
	_Atomic int stop;
	_Atomic int refs; /* pipe + timer handles, + one per receiver thread */
	_Atomic unsigned int receivers_alive;
	unsigned char hello[64];
	size_t hello_len;
	bool welcomed;

	struct lrpc__hconn hand; /* the hand-off the handshake chose */
	/* Receivers report their start before the welcome is sent. */
	pthread_mutex_t start_lock;
	pthread_cond_t start_cond;
	uint32_t start_done;
	int start_error;
};

struct lrpc_call {
	lrpc_server *srv;
	const lrpc_method_desc *method;
	lrpc_deadline deadline;
	struct lrpc__arena *arena;
	char message[LRPC_STATUS_MSG_MAX];
};

/* server.c */
const struct lrpc__method_entry *lrpc__server_find(const lrpc_server *srv,
						  uint32_t id);

/* dispatch.c: decode, run the handler. On OK *rep is the reply, in
 * \p arena; otherwise \p message (LRPC_STATUS_MSG_MAX bytes) says why. */
lrpc_code lrpc__dispatch(lrpc_server *srv, struct lrpc__arena *arena,
			 uint32_t method_id, const void *req_bytes,
			 size_t req_len, lrpc_deadline deadline,
			 ProtobufCMessage **rep, char *message);
void lrpc__count_call(lrpc_server *srv, lrpc_code code);

/* server_listen.c: may this unix-socket peer connect? */
bool lrpc__peer_allowed(const lrpc_server *srv, uv_handle_t *h);

/* server.c: on the loop, after a stop: close what has drained, and end
 * the loop once nothing is left. */
void lrpc__server_reap(lrpc_server *srv);

/* server_shm.c: lrpc:// clients. */
void lrpc__shm_on_connection(uv_stream_t *listener, int status);
/* Stop taking calls; connections close as their receivers finish. */
void lrpc__conn_drain_all(lrpc_server *srv);
void lrpc__conn_close_drained(lrpc_server *srv);
void lrpc__conn_unref(struct lrpc__conn *conn);

/* server_sock.c: unix:// and tcp:// clients. */
void lrpc__sock_on_connection(uv_stream_t *listener, int status);
/* Stop reading; connections close once their calls are answered. */
void lrpc__sock_drain_all(lrpc_server *srv);

/* server_receiver.c: start one thread per lane. \return 0, -errno. */
int lrpc__receivers_start(struct lrpc__conn *conn);

#endif
