// SPDX-License-Identifier: MIT
/*
 * The server object: options, services, listeners by transport, start and
 * stop. What its transports share is the host (serve/host.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/peer_acl.h"
#include "serve/host.h"
#include "transport/tls.h"
#include "transport/transport.h"
#include "wire/lane.h"

#define MAX_LISTENERS 8

struct lrpc_server {
	struct lrpc__host host; /* first */
	uv_async_t stop_async;
	struct lrpc__listener listeners[MAX_LISTENERS];
	unsigned int nlisteners;
	pthread_t loop_thread;
	bool started, joined;
	struct on_free {
		void (*fn)(void *arg);
		void *arg;
	} *on_free, *on_stop;
	size_t non_free, non_stop;
	/* The on_stop hooks run on a thread of their own, off the loop
	 * (which goes on carrying what they send) and off libuv's pool
	 * (where socket handlers may hold every thread); it says when done
	 * through hooks_done. */
	pthread_t hooks_thread;
	bool hooks_started;
	uv_async_t hooks_done;
};

#define DEFAULT_MAX_CLIENTS 64
#define DEFAULT_MAX_CONNS 64
#define DEFAULT_MAX_PIPELINED 64
#define DEFAULT_IDLE_TIMEOUT_MS 60000
#define DEFAULT_HEADER_TIMEOUT_MS 10000
#define DEFAULT_MAX_STREAMS 64

/* The socket options took the place of reserved pointers: the layout of
 * what 0.1.0 callers pass is unchanged. */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(lrpc_server_opts) == 56 &&
	       offsetof(lrpc_server_opts, max_conns) == 32,
	       "lrpc_server_opts layout");
#endif

void lrpc_server_opts_init(lrpc_server_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
}

static unsigned int cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

/* A zero option means its default. */
static void or_default(unsigned int *opt, unsigned int def)
{
	if (*opt == 0)
		*opt = def;
}

static void on_reap(uv_async_t *async)
{
	lrpc__host_reap(async->data);
}

/* Let calls in progress finish and reply, then close. */
static void drain(lrpc_server *srv)
{
	lrpc__host_drain(&srv->host);
	lrpc__host_reap(&srv->host);
}

/* The hooks may block (a health service waits for its Watch streams to
 * send NOT_SERVING). */
static void *run_stop_hooks(void *arg)
{
	lrpc_server *srv = arg;

	for (size_t i = 0; i < srv->non_stop; i++)
		srv->on_stop[i].fn(srv->on_stop[i].arg);
	uv_async_send(&srv->hooks_done);
	return NULL;
}

static void on_hooks_done(uv_async_t *async)
{
	uv_close((uv_handle_t *)async, NULL);
	drain(async->data);
}

/* Stop accepting; once the on_stop hooks are done, drain. */
static void on_stop(uv_async_t *async)
{
	lrpc_server *srv = async->data;

	for (unsigned int i = 0; i < srv->nlisteners; i++)
		uv_close(&srv->listeners[i].h.handle, NULL);
	uv_close((uv_handle_t *)async, NULL);
	if (srv->non_stop) {
		uv_async_init(&srv->host.loop, &srv->hooks_done, on_hooks_done);
		srv->hooks_done.data = srv;
		if (lrpc__thread_start(&srv->hooks_thread, run_stop_hooks, srv, false) == 0) {
			srv->hooks_started = true;
			return;
		}
		/* No thread for them: the stop goes on without. */
		uv_close((uv_handle_t *)&srv->hooks_done, NULL);
	}
	drain(srv);
}

int lrpc_server_new(const lrpc_server_opts *opts, lrpc_server **out)
{
	lrpc_server *srv;
	uint8_t rnd = 0;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	if (opts)
		srv->host.opts = *opts;
	if (srv->host.opts.max_msg_size == 0)
		srv->host.opts.max_msg_size = LRPC_DEFAULT_MAX_MSG;
	or_default(&srv->host.opts.receivers, cpu_count());
	or_default(&srv->host.opts.max_clients, DEFAULT_MAX_CLIENTS);
	or_default(&srv->host.opts.max_conns, DEFAULT_MAX_CONNS);
	or_default(&srv->host.opts.max_pipelined, DEFAULT_MAX_PIPELINED);
	or_default(&srv->host.opts.idle_timeout_ms, DEFAULT_IDLE_TIMEOUT_MS);
	or_default(&srv->host.opts.header_timeout_ms, DEFAULT_HEADER_TIMEOUT_MS);
	if (!srv->host.opts.max_receivers) {
		unsigned int r = srv->host.opts.receivers;

		srv->host.opts.max_receivers = r > LRPC__MAX_LANES / 4 ?
			LRPC__MAX_LANES : r * 4 < 8 ? 8 : r * 4;
	}
	if (srv->host.opts.max_receivers < srv->host.opts.receivers)
		srv->host.opts.max_receivers = srv->host.opts.receivers;
	or_default(&srv->host.opts.max_streams, DEFAULT_MAX_STREAMS);
	if (srv->host.opts.receivers > LRPC__MAX_LANES ||
	    srv->host.opts.max_receivers > LRPC__MAX_LANES ||
	    srv->host.opts.max_msg_size > LRPC_MAX_MSG_LIMIT) {
		free(srv);
		return -EINVAL;
	}
	srv->host.conn_buffer = srv->host.opts.max_conn_buffer_kib ?
		(size_t)srv->host.opts.max_conn_buffer_kib << 10 :
		2 * srv->host.opts.max_msg_size + (64 << 10);
	/* Any nonzero byte will do: it only has to differ from service ids
	 * the client might confuse it with. */
	if (getrandom(&rnd, 1, GRND_NONBLOCK) != 1)
		rnd = (uint8_t)getpid();
	srv->host.service_id = rnd ? rnd : 1;

	ret = uv_loop_init(&srv->host.loop);
	if (ret < 0) {
		free(srv);
		return ret;
	}
	uv_async_init(&srv->host.loop, &srv->stop_async, on_stop);
	srv->stop_async.data = srv;
	uv_async_init(&srv->host.loop, &srv->host.reap_async, on_reap);
	srv->host.reap_async.data = &srv->host;
	pthread_mutex_init(&srv->host.lock, NULL);
	pthread_cond_init(&srv->host.idle, NULL);
	*out = srv;
	return 0;
}

int lrpc_server_add_service(lrpc_server *srv, const lrpc_service_desc *desc,
			    const void *handlers, void *user)
{
	if (!srv || !desc || !handlers)
		return -EINVAL;
	if (srv->started)
		return -EBUSY;
	return lrpc__registry_add(&srv->host.registry, desc, handlers, user);
}

const lrpc_service_desc *lrpc_server_service(const lrpc_server *srv, size_t i)
{
	if (!srv || i >= srv->host.registry.nservices)
		return NULL;
	return srv->host.registry.services[i];
}

static int hook_add(lrpc_server *srv, struct on_free **list, size_t *n,
		    void (*fn)(void *arg), void *arg)
{
	struct on_free *v;

	if (!fn)
		return -EINVAL;
	if (srv->started)
		return -EBUSY;
	v = realloc(*list, (*n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[(*n)++] = (struct on_free){ fn, arg };
	*list = v;
	return 0;
}

int lrpc_server_on_free(lrpc_server *srv, void (*fn)(void *arg), void *arg)
{
	return srv ? hook_add(srv, &srv->on_free, &srv->non_free, fn, arg) : -EINVAL;
}

int lrpc_server_on_stop(lrpc_server *srv, void (*fn)(void *arg), void *arg)
{
	return srv ? hook_add(srv, &srv->on_stop, &srv->non_stop, fn, arg) : -EINVAL;
}

bool lrpc_server_stopping(const lrpc_server *srv)
{
	return srv && atomic_load(&srv->host.stop_requested);
}

int lrpc_server_listen(lrpc_server *srv, const char *uri)
{
	struct lrpc__listener *l;
	struct lrpc__addr addr;
	int ret;

	if (!srv)
		return -EINVAL;
	srv->host.error[0] = '\0';
	if (srv->started)
		return -EBUSY;
	ret = lrpc__uri_parse(uri, &addr);
	if (ret < 0)
		return ret;
	if (srv->nlisteners == MAX_LISTENERS)
		return -ENOSPC;
	l = &srv->listeners[srv->nlisteners];
	memset(l, 0, sizeof(*l));
	l->lock_fd = -1;
	snprintf(l->uri, sizeof(l->uri), "%s", uri);
	ret = lrpc__transport_find(addr.scheme)->listen(&srv->host, l, &addr);
	if (ret < 0) {
		/* The handle may exist by now; only the loop can close it. */
		if (uv_is_active(&l->h.handle) || l->h.handle.loop) {
			uv_close(&l->h.handle, NULL);
			uv_run(&srv->host.loop, UV_RUN_NOWAIT);
		}
		return ret;
	}
	srv->nlisteners++;
	return 0;
}

int lrpc_server_add_interceptor(lrpc_server *srv, const lrpc_interceptor *ic)
{
	if (!srv)
		return -EINVAL;
	if (srv->started)
		return -EBUSY;
	return lrpc__intercept_add(&srv->host.registry.chain, ic);
}

int lrpc_server_set_keepalive(lrpc_server *srv, unsigned int interval_ms,
			      unsigned int timeout_ms)
{
	if (!srv)
		return -EINVAL;
	if (srv->started)
		return -EBUSY;
	srv->host.keepalive_ms = interval_ms;
	srv->host.keepalive_timeout_ms = timeout_ms ? timeout_ms : 20000;
	return 0;
}

int lrpc_server_set_numa(lrpc_server *srv, lrpc_numa_mode mode)
{
	if (!srv || (unsigned int)mode > LRPC_NUMA_INTERLEAVE)
		return -EINVAL;
	if (srv->started)
		return -EBUSY;
	srv->host.numa = mode;
	return 0;
}

int lrpc_server_set_peer_acl(lrpc_server *srv, const lrpc_peer_acl *acl)
{
	lrpc_peer_acl *copy;
	int ret;

	if (!srv)
		return -EINVAL;
	if (srv->started || srv->nlisteners)
		return -EBUSY;
	ret = lrpc__peer_acl_dup(acl, &copy);
	if (ret < 0)
		return ret;
	free(srv->host.acl);
	srv->host.acl = copy;
	return 0;
}

int lrpc_server_set_tls(lrpc_server *srv, const lrpc_tls_opts *tls)
{
	struct lrpc__tls_ctx *ctx;
	int ret;

	if (!srv || !tls)
		return -EINVAL;
	srv->host.error[0] = '\0';
	if (srv->started)
		return -EBUSY;
	ret = lrpc__tls_ctx_server(tls, &ctx, srv->host.error, sizeof(srv->host.error));
	if (ret < 0)
		return ret;
	lrpc__tls_ctx_free(srv->host.tls);
	srv->host.tls = ctx;
	return 0;
}

const char *lrpc_server_error(const lrpc_server *srv)
{
	return srv ? srv->host.error : "";
}

int lrpc_server_listener_uri(const lrpc_server *srv, unsigned int i, char *buf,
			     size_t len)
{
	int n;

	if (!srv || !buf || i >= srv->nlisteners)
		return -EINVAL;
	n = snprintf(buf, len, "%s", srv->listeners[i].uri);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void *loop_main(void *arg)
{
	lrpc_server *srv = arg;

	uv_run(&srv->host.loop, UV_RUN_DEFAULT);
	return NULL;
}

int lrpc_server_start(lrpc_server *srv)
{
	int ret;

	if (!srv)
		return -EINVAL;
	if (srv->started)
		return -EBUSY;
	if (!srv->nlisteners || !srv->host.registry.nservices)
		return -EINVAL;
	ret = lrpc__thread_start(&srv->loop_thread, loop_main, srv, false);
	if (ret < 0)
		return ret;
	srv->started = true;
	return 0;
}

int lrpc_server_run(lrpc_server *srv)
{
	int ret;

	if (!srv)
		return -EINVAL;
	if (!srv->started) {
		ret = lrpc_server_start(srv);
		if (ret < 0)
			return ret;
	}
	if (!srv->joined) {
		pthread_join(srv->loop_thread, NULL);
		srv->joined = true;
	}
	return 0;
}

void lrpc_server_stop(lrpc_server *srv)
{
	/* Only the first stop touches the async handle: it is closed by the
	 * loop once acted on. uv_async_send is async-signal-safe. */
	if (srv && !atomic_exchange(&srv->host.stop_requested, 1))
		uv_async_send(&srv->stop_async);
}

void lrpc_server_free(lrpc_server *srv)
{
	if (!srv)
		return;
	lrpc_server_stop(srv);
	if (srv->started)
		lrpc_server_run(srv);
	else
		uv_run(&srv->host.loop, UV_RUN_DEFAULT);
	pthread_mutex_lock(&srv->host.lock);
	while (atomic_load(&srv->host.stats.receivers_active))
		pthread_cond_wait(&srv->host.idle, &srv->host.lock);
	pthread_mutex_unlock(&srv->host.lock);
	/* Receivers drop their connection references last thing; the loop
	 * runs once more to finish closing what they released. */
	uv_run(&srv->host.loop, UV_RUN_DEFAULT);
	if (srv->hooks_started)
		pthread_join(srv->hooks_thread, NULL);
	for (unsigned int i = 0; i < srv->nlisteners; i++)
		lrpc__listen_unclaim(&srv->listeners[i]);
	uv_loop_close(&srv->host.loop);
	/* Every handler has returned: what they used may go, last added
	 * first (a service freed before what it was built on). */
	while (srv->non_free--)
		srv->on_free[srv->non_free].fn(srv->on_free[srv->non_free].arg);
	free(srv->on_free);
	free(srv->on_stop);
	pthread_mutex_destroy(&srv->host.lock);
	pthread_cond_destroy(&srv->host.idle);
	lrpc__registry_free(&srv->host.registry);
	free(srv->host.acl);
	lrpc__tls_ctx_free(srv->host.tls);
	free(srv);
}

void lrpc_server_stats_get(lrpc_server *srv, lrpc_server_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!srv)
		return;
	out->clients_accepted = atomic_load(&srv->host.stats.clients_accepted);
	out->clients_rejected = atomic_load(&srv->host.stats.clients_rejected);
	out->clients_active = atomic_load(&srv->host.stats.clients_active);
	out->receivers_active = atomic_load(&srv->host.stats.receivers_active);
	out->calls_ok = atomic_load(&srv->host.stats.calls_ok);
	out->calls_failed = atomic_load(&srv->host.stats.calls_failed);
	out->protocol_errors = atomic_load(&srv->host.stats.protocol_errors);
	out->conn_held_peak = atomic_load(&srv->host.stats.conn_held_peak);
	out->streams_active = atomic_load(&srv->host.stats.streams_active);
}
