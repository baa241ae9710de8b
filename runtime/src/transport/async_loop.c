// SPDX-License-Identifier: MIT
/* The watcher thread of socket transports' asynchronous calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/internal.h"
#include "transport/async_loop.h"

int lrpc__aloop_start(struct lrpc__aloop *l, void *(*fn)(void *), void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int ret;

	l->stop = false;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->ep < 0 || l->efd < 0 ||
	    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->efd, &ev) < 0)
		ret = -errno;
	else
		ret = 0;
	pthread_mutex_init(&l->lock, NULL);
	if (!ret)
		ret = lrpc__thread_start(&l->thread, fn, arg, false);
	if (ret < 0) {
		if (l->ep >= 0)
			close(l->ep);
		if (l->efd >= 0)
			close(l->efd);
		pthread_mutex_destroy(&l->lock);
	}
	return ret;
}

void lrpc__aloop_kick(struct lrpc__aloop *l)
{
	uint64_t one = 1;

	if (write(l->efd, &one, sizeof(one)) < 0) {
		/* The count is far from full: never. */
	}
}

int lrpc__aloop_wait(struct lrpc__aloop *l, struct epoll_event *ev, int max,
		     int timeout_ms)
{
	int n, k = 0;

	pthread_mutex_unlock(&l->lock);
	n = epoll_wait(l->ep, ev, max, timeout_ms);
	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < n; i++) {
		uint64_t v;

		if (ev[i].data.ptr)
			ev[k++] = ev[i];
		else if (read(l->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: nothing counted. */
		}
	}
	return k;
}

void lrpc__aloop_stop(struct lrpc__aloop *l)
{
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	lrpc__aloop_kick(l);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	close(l->ep);
	close(l->efd);
	pthread_mutex_destroy(&l->lock);
}
