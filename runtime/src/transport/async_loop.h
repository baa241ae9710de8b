/* SPDX-License-Identifier: MIT */
/*
 * The watcher thread of a socket transport's asynchronous calls
 * (sock_async.c, grpc_async.c): an epoll set that holds the transport's
 * connections and an eventfd to wake the thread, the lock it holds except
 * while it waits, and its start and stop.
 */
#ifndef LRPC_ASYNC_LOOP_H
#define LRPC_ASYNC_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/epoll.h>

struct lrpc__aloop {
	pthread_mutex_t lock;
	int ep, efd;
	pthread_t thread;
	bool stop; /* under lock: the thread returns */
};

/* Make the epoll set (the eventfd in it with data.ptr NULL) and run
 * \p fn(\p arg) on a new thread. \return 0, or -errno with nothing left. */
int lrpc__aloop_start(struct lrpc__aloop *l, void *(*fn)(void *), void *arg);
/* Any thread: make the thread look again. */
void lrpc__aloop_kick(struct lrpc__aloop *l);
/* The thread, lock held: release it while waiting for events, at most
 * \p timeout_ms (-1: no limit); an event with data.ptr NULL (a kick) is
 * consumed here and not returned. \return the events in \p ev (at most
 * \p max). */
int lrpc__aloop_wait(struct lrpc__aloop *l, struct epoll_event *ev, int max,
		     int timeout_ms);
/* Set stop, wake and join the thread, free the descriptors and lock. */
void lrpc__aloop_stop(struct lrpc__aloop *l);

#endif
