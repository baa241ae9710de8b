// SPDX-License-Identifier: MIT
/* The server object: options, the method registry, start and stop. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "serve/host.h"

#define DEFAULT_MAX_CLIENTS 64

void lrpc_server_opts_init(lrpc_server_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
}

static unsigned int cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

void lrpc__server_reap(lrpc_server *srv)
{
	if (!atomic_load(&srv->stop_requested))
		return;
	lrpc__conn_close_drained(srv);
	if (!srv->conns && !srv->sconns &&
	    !uv_is_closing((uv_handle_t *)&srv->reap_async))
		uv_close((uv_handle_t *)&srv->reap_async, NULL);
}

static void on_reap(uv_async_t *async)
{
	lrpc__server_reap(async->data);
}

/* Stop accepting, let calls in progress finish and reply, then close. */
static void on_stop(uv_async_t *async)
{
	lrpc_server *srv = async->data;

	for (unsigned int i = 0; i < srv->nlisteners; i++)
		uv_close(&srv->listeners[i].h.handle, NULL);
	lrpc__conn_drain_all(srv);
	lrpc__sock_drain_all(srv);
	uv_close((uv_handle_t *)async, NULL);
	lrpc__server_reap(srv);
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
		srv->opts = *opts;
	if (srv->opts.receivers == 0)
		srv->opts.receivers = cpu_count();
	if (srv->opts.max_msg_size == 0)
		srv->opts.max_msg_size = LRPC_DEFAULT_MAX_MSG;
	if (srv->opts.max_clients == 0)
		srv->opts.max_clients = DEFAULT_MAX_CLIENTS;
	if (srv->opts.receivers > LRPC__MAX_LANES ||
	    srv->opts.max_msg_size > LRPC_MAX_MSG_LIMIT) {
		free(srv);
		return -EINVAL;
	}
	/* Any nonzero byte will do: it only has to differ from service ids
	 * the client might confuse it with. */
	if (getrandom(&rnd, 1, GRND_NONBLOCK) != 1)
		rnd = (uint8_t)getpid();
	srv->service_id = rnd ? rnd : 1;

	ret = uv_loop_init(&srv->loop);
	if (ret < 0) {
		free(srv);
		return ret;
	}
	uv_async_init(&srv->loop, &srv->stop_async, on_stop);
	srv->stop_async.data = srv;
	uv_async_init(&srv->loop, &srv->reap_async, on_reap);
	srv->reap_async.data = srv;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->idle, NULL);
	*out = srv;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct lrpc__method_entry *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int desc_check(const lrpc_service_desc *d)
{
	if (d->magic != LRPC_SERVICE_DESC_MAGIC ||
	    d->abi_version != LRPC_SERVICE_ABI_VERSION || !d->name ||
	    (d->n_methods && !d->methods))
		return -EINVAL;
	for (size_t i = 0; i < d->n_methods; i++) {
		const lrpc_method_desc *m = &d->methods[i];

		if (!m->full_name || !m->input || !m->output || !m->invoke ||
		    m->id != lrpc_method_id(m->full_name) ||
		    m->input->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC ||
		    m->output->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
			return -EINVAL;
	}
	return 0;
}

int lrpc_server_add_service(lrpc_server *srv, const lrpc_service_desc *desc,
			    const void *handlers, void *user)
{
	struct lrpc__method_entry *m;
	size_t n;
	int ret;

	if (!srv || !desc || !handlers)
		return -EINVAL;
	if (srv->started)
		return -EBUSY;
	ret = desc_check(desc);
	if (ret < 0)
		return ret;
	n = srv->nmethods + desc->n_methods;
	for (size_t i = 0; i < desc->n_methods; i++) {
		if (lrpc__server_find(srv, desc->methods[i].id))
			return -EEXIST;
		for (size_t j = 0; j < i; j++)
			if (desc->methods[j].id == desc->methods[i].id)
				return -EEXIST;
	}
	m = realloc(srv->methods, (n ? n : 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < desc->n_methods; i++) {
		m[srv->nmethods + i] = (struct lrpc__method_entry){
			.id = desc->methods[i].id,
			.method = &desc->methods[i],
			.handlers = handlers,
			.user = user,
		};
	}
	qsort(m, n, sizeof(*m), entry_cmp);
	srv->methods = m;
	srv->nmethods = n;
	srv->nservices++;
	return 0;
}

const struct lrpc__method_entry *lrpc__server_find(const lrpc_server *srv,
						  uint32_t id)
{
	struct lrpc__method_entry key = { .id = id };

	if (!srv->nmethods)
		return NULL;
	return bsearch(&key, srv->methods, srv->nmethods, sizeof(key),
		       entry_cmp);
}

static void *loop_main(void *arg)
{
	lrpc_server *srv = arg;

	uv_run(&srv->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* Library threads leave signals to the application's own threads. */
int lrpc__thread_start(pthread_t *t, void *(*fn)(void *), void *arg,
		       bool detached)
{
	pthread_attr_t attr;
	sigset_t all;
	int ret;

	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setsigmask_np(&attr, &all);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -ret;
}

int lrpc_server_start(lrpc_server *srv)
{
	int ret;

	if (!srv)
		return -EINVAL;
	if (srv->started)
		return -EBUSY;
	if (!srv->nlisteners || !srv->nservices)
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
	if (srv && !atomic_exchange(&srv->stop_requested, 1))
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
		uv_run(&srv->loop, UV_RUN_DEFAULT);
	pthread_mutex_lock(&srv->lock);
	while (atomic_load(&srv->stats.receivers_active))
		pthread_cond_wait(&srv->idle, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	/* Receivers drop their connection references last thing; the loop
	 * runs once more to finish closing what they released. */
	uv_run(&srv->loop, UV_RUN_DEFAULT);
	for (unsigned int i = 0; i < srv->nlisteners; i++)
		if (srv->listeners[i].path[0])
			unlink(srv->listeners[i].path);
	uv_loop_close(&srv->loop);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->idle);
	free(srv->methods);
	free(srv);
}

void lrpc_server_stats_get(lrpc_server *srv, lrpc_server_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!srv)
		return;
	out->clients_accepted = atomic_load(&srv->stats.clients_accepted);
	out->clients_rejected = atomic_load(&srv->stats.clients_rejected);
	out->clients_active = atomic_load(&srv->stats.clients_active);
	out->receivers_active = atomic_load(&srv->stats.receivers_active);
	out->calls_ok = atomic_load(&srv->stats.calls_ok);
	out->calls_failed = atomic_load(&srv->stats.calls_failed);
	out->protocol_errors = atomic_load(&srv->stats.protocol_errors);
}
