// SPDX-License-Identifier: MIT
/*
 * grpc.health.v1.Health: a status per service name that the application
 * sets, Check to read it, Watch to follow it.
 *
 * A Watch runs on a stream thread of its own (as every streaming handler
 * does), listed in the health while it lasts, and waits in
 * lrpc_server_stream_wait(): a set or clear wakes every Watch listed, and
 * the transport ends the wait when the client cancels or goes or the
 * server stops, so a Watch ends at once then (after NOT_SERVING, below).
 *
 * A stop first runs the server's on_stop hooks, then drains: ours sets
 * every status NOT_SERVING, wakes every Watch, and waits (a bounded time:
 * a client that reads nothing holds up no stop) until each has sent it
 * or ended, so load balancers see the server going before its streams
 * end UNAVAILABLE. From lrpc_server_stop() on, before the hook has run,
 * Check and Watch already answer NOT_SERVING for any name that has a
 * status, so no SERVING is seen after the stop began.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lazyrpc/std.h>

#include "grpc/health/v1/health.lrpc.h"

typedef Grpc__Health__V1__HealthCheckRequest health_req;
typedef Grpc__Health__V1__HealthCheckResponse health_rep;

struct entry {
	char *name;
	lrpc_health_status status;
};

/* How long a stop waits for the Watch streams to send NOT_SERVING. */
#define STOP_GRACE_MS 2000

/* A Watch in progress, on its handler's stack. */
struct watcher {
	lrpc_server_stream *stream;
	const char *name;
	int sent; /* the status last written, -1 before the first */
	struct watcher *next;
};

struct lrpc_health {
	lrpc_server *srv;
	pthread_mutex_t lock;
	pthread_cond_t sent; /* a Watch wrote, or ended */
	struct entry *v; /* under lock, as the rest */
	size_t n, cap;
	struct watcher *watching; /* woken on every set and clear */
	unsigned int watchers;
};

/* Under h->lock: the statuses changed. */
static void wake_watchers(lrpc_health *h)
{
	for (struct watcher *w = h->watching; w; w = w->next)
		lrpc_server_stream_wake(w->stream);
}

/* Under h->lock. */
static struct entry *find(lrpc_health *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].name, name) == 0)
			return &h->v[i];
	return NULL;
}

static const char *name_of(const health_req *req)
{
	return req->service ? req->service : "";
}

/* Under h->lock: what Check and Watch say of \p name. */
static int status_of(lrpc_health *h, const char *name)
{
	struct entry *e = find(h, name);

	if (!e)
		return LRPC_HEALTH_SERVICE_UNKNOWN;
	return lrpc_server_stopping(h->srv) ? LRPC_HEALTH_NOT_SERVING : (int)e->status;
}

static lrpc_code check(void *user, lrpc_call *call, const health_req *req,
		       health_rep *reply)
{
	lrpc_health *h = user;
	int now;

	pthread_mutex_lock(&h->lock);
	now = status_of(h, name_of(req));
	pthread_mutex_unlock(&h->lock);
	reply->status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)now;
	if (now == LRPC_HEALTH_SERVICE_UNKNOWN) {
		lrpc_call_set_message(call, "unknown service '%.120s'", name_of(req));
		return LRPC_NOT_FOUND;
	}
	return LRPC_OK;
}

static lrpc_code watch(void *user, lrpc_call *call, const health_req *req,
		       lrpc_server_stream *stream)
{
	lrpc_health *h = user;
	const char *name = name_of(req);
	struct watcher self = { stream, name, -1, NULL }, **pp;
	lrpc_code code;

	pthread_mutex_lock(&h->lock);
	self.next = h->watching;
	h->watching = &self;
	h->watchers++;
	for (;;) {
		int now = status_of(h, name);
		health_rep rep = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

		/* Neither a write (it may wait for the client's window) nor
		 * the wait is under the lock lrpc_health_set() takes; a set
		 * in between has woken us, so its change is not missed. */
		pthread_mutex_unlock(&h->lock);
		if (now != self.sent) {
			rep.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)now;
			code = grpc__health__v1__health__watch__server_write(stream, &rep);
		} else {
			code = lrpc_server_stream_wait(stream);
		}
		pthread_mutex_lock(&h->lock);
		if (code != LRPC_OK)
			break;
		if (now != self.sent) {
			self.sent = now;
			pthread_cond_broadcast(&h->sent);
		}
	}
	for (pp = &h->watching; *pp != &self; pp = &(*pp)->next)
		;
	*pp = self.next;
	h->watchers--;
	pthread_cond_broadcast(&h->sent);
	pthread_mutex_unlock(&h->lock);
	if (code == LRPC_CANCELLED)
		lrpc_call_set_message(call, "watch cancelled, or the server is stopping");
	return code;
}

static const Grpc__Health__V1__Health_Handlers handlers = {
	.check = check,
	.watch = watch,
};

/* Under h->lock: a Watch has yet to send what it should now. */
static bool behind(lrpc_health *h)
{
	for (struct watcher *w = h->watching; w; w = w->next)
		if (w->sent != status_of(h, w->name))
			return true;
	return false;
}

/* The server's on_stop hook: NOT_SERVING, on the wire before the drain. */
static void health_stop(void *arg)
{
	lrpc_health *h = arg;
	struct timespec until;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += STOP_GRACE_MS / 1000;
	until.tv_nsec += (long)(STOP_GRACE_MS % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n; i++)
		h->v[i].status = LRPC_HEALTH_NOT_SERVING;
	wake_watchers(h);
	while (ret != ETIMEDOUT && behind(h))
		ret = pthread_cond_timedwait(&h->sent, &h->lock, &until);
	pthread_mutex_unlock(&h->lock);
}

static void health_free(void *arg)
{
	lrpc_health *h = arg;

	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].name);
	free(h->v);
	pthread_cond_destroy(&h->sent);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int lrpc_server_add_health(lrpc_server *srv, lrpc_health **out)
{
	pthread_condattr_t ca;
	lrpc_health *h;
	int ret;

	if (out)
		*out = NULL;
	if (!srv)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->srv = srv;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->sent, &ca);
	pthread_condattr_destroy(&ca);
	ret = lrpc_health_set(h, "", LRPC_HEALTH_SERVING);
	/* Handlers may use it until the server is freed: it goes then. */
	if (ret == 0)
		ret = lrpc_server_on_free(srv, health_free, h);
	if (ret < 0) {
		health_free(h);
		return ret;
	}
	/* On failure here or below h stays with the server, which frees it. */
	ret = lrpc_server_on_stop(srv, health_stop, h);
	if (ret < 0)
		return ret;
	ret = grpc__health__v1__health__register(srv, &handlers, h);
	if (ret < 0)
		return ret;
	if (out)
		*out = h;
	return 0;
}

int lrpc_health_set(lrpc_health *h, const char *service,
		    lrpc_health_status status)
{
	struct entry *e;

	if (!h || !service || strlen(service) > LRPC_HEALTH_NAME_MAX ||
	    (status != LRPC_HEALTH_UNKNOWN && status != LRPC_HEALTH_SERVING &&
	     status != LRPC_HEALTH_NOT_SERVING))
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	e = find(h, service);
	if (!e) {
		char *name = strdup(service);

		if (name && h->n == h->cap) {
			size_t cap = h->cap ? 2 * h->cap : 8;
			struct entry *v = realloc(h->v, cap * sizeof(*v));

			if (v) {
				h->v = v;
				h->cap = cap;
			}
		}
		if (!name || h->n == h->cap) {
			pthread_mutex_unlock(&h->lock);
			free(name);
			return -ENOMEM;
		}
		e = &h->v[h->n++];
		e->name = name;
	}
	e->status = status;
	wake_watchers(h);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int lrpc_health_clear(lrpc_health *h, const char *service)
{
	struct entry *e;

	if (!h || !service)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	e = find(h, service);
	if (e) {
		free(e->name);
		*e = h->v[--h->n];
		wake_watchers(h);
	}
	pthread_mutex_unlock(&h->lock);
	return e ? 0 : -ENOENT;
}

unsigned int lrpc_health_watchers(lrpc_health *h)
{
	unsigned int n;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	n = h->watchers;
	pthread_mutex_unlock(&h->lock);
	return n;
}
