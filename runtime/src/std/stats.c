// SPDX-License-Identifier: MIT
/*
 * lazyrpc.stats.v1.Stats: an interceptor counts every call by method and
 * status and files its duration in a histogram; Get reads them.
 *
 * A method's slot is found by its descriptor's address (fixed once the
 * server runs) in an open-addressed table, made on its first call under a
 * lock and read without one afterwards; counters are relaxed atomics, so
 * a call pays a few uncontended increments. Memory is bounded by the
 * number of methods the server has, each taking about 4 KiB.
 *
 * The histogram is log-linear: exact below 8 ns, then 8 buckets per power
 * of two, so a quantile read as its bucket's upper end is at most 12.5%
 * above the truth.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/std.h>

#include "lazyrpc/stats/v1/stats.lrpc.h"

#define SUB_BITS 3
#define SUB (1u << SUB_BITS)
#define BUCKETS ((64 - SUB_BITS + 1) * SUB)
#define CODES 17 /* LRPC_OK .. LRPC_UNAUTHENTICATED */
#define SLOTS 1024 /* methods a server may have, at most */

struct method_stats {
	const lrpc_method_desc *method; /* set once, under the lock */
	_Atomic uint64_t codes[CODES];
	_Atomic uint64_t max_ns;
	_Atomic uint64_t hist[BUCKETS];
};

struct lrpc_stats {
	pthread_mutex_t lock; /* taken to add a method */
	lrpc_server *srv;
	lrpc_deadline started;
	_Atomic(struct method_stats *) slot[SLOTS];
	/* Methods in the order first seen, for Get. */
	struct method_stats *order[SLOTS];
	_Atomic unsigned int n;
};

static unsigned int bucket_of(uint64_t v)
{
	unsigned int e;

	if (v < SUB)
		return (unsigned int)v;
	e = 63 - (unsigned int)__builtin_clzll(v);
	return (e - SUB_BITS + 1) * SUB + (unsigned int)((v >> (e - SUB_BITS)) & (SUB - 1));
}

/* The largest value bucket \p b holds. */
static uint64_t bucket_top(unsigned int b)
{
	unsigned int e;
	uint64_t sub;

	if (b < SUB)
		return b;
	e = b / SUB + SUB_BITS - 1;
	sub = b % SUB;
	return ((SUB + sub + 1) << (e - SUB_BITS)) - 1;
}

/* The method's stats, made on first sight; NULL past SLOTS methods. */
static struct method_stats *stats_of(lrpc_stats *s, const lrpc_method_desc *m)
{
	size_t h = ((uintptr_t)m >> 4) % SLOTS;
	struct method_stats *ms;

	for (size_t i = 0; i < SLOTS; i++, h = (h + 1) % SLOTS) {
		ms = atomic_load_explicit(&s->slot[h], memory_order_acquire);
		if (ms && ms->method == m)
			return ms;
		if (ms)
			continue;
		pthread_mutex_lock(&s->lock);
		ms = atomic_load_explicit(&s->slot[h], memory_order_relaxed);
		if (!ms) {
			ms = calloc(1, sizeof(*ms));
			if (ms) {
				ms->method = m;
				s->order[atomic_load(&s->n)] = ms;
				atomic_fetch_add(&s->n, 1);
				atomic_store_explicit(&s->slot[h], ms, memory_order_release);
			}
		}
		pthread_mutex_unlock(&s->lock);
		if (!ms || ms->method == m)
			return ms;
	}
	return NULL;
}

static void count_call(void *arg, lrpc_call *call, lrpc_code code, int64_t duration_ns)
{
	const lrpc_method_desc *m = lrpc_call_method(call);
	uint64_t ns = duration_ns > 0 ? (uint64_t)duration_ns : 0, max;
	struct method_stats *ms;

	if (!m || !(ms = stats_of(arg, m)))
		return;
	atomic_fetch_add_explicit(&ms->codes[(unsigned int)code < CODES ? code : LRPC_UNKNOWN],
				  1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ms->hist[bucket_of(ns)], 1, memory_order_relaxed);
	max = atomic_load_explicit(&ms->max_ns, memory_order_relaxed);
	while (ns > max && !atomic_compare_exchange_weak_explicit(&ms->max_ns, &max, ns,
								   memory_order_relaxed,
								   memory_order_relaxed))
		;
}

/* The value below which a fraction \p q of \p total calls fall. */
static uint64_t quantile(const uint64_t *hist, uint64_t total, double q, uint64_t max)
{
	uint64_t want = (uint64_t)(q * (double)total), seen = 0;

	if (want == 0)
		want = 1;
	for (unsigned int b = 0; b < BUCKETS; b++) {
		seen += hist[b];
		if (seen >= want)
			return bucket_top(b) < max ? bucket_top(b) : max;
	}
	return max;
}

/* Fill \p out from \p ms; its strings and arrays come from \p call. */
static lrpc_code fill_method(lrpc_call *call, struct method_stats *ms,
			     Lazyrpc__Stats__V1__MethodStats *out)
{
	uint64_t hist[BUCKETS], total = 0, codes[CODES];
	size_t ncodes = 0;

	for (unsigned int b = 0; b < BUCKETS; b++)
		hist[b] = atomic_load_explicit(&ms->hist[b], memory_order_relaxed);
	for (unsigned int c = 0; c < CODES; c++) {
		codes[c] = atomic_load_explicit(&ms->codes[c], memory_order_relaxed);
		total += codes[c];
		ncodes += codes[c] != 0;
	}
	out->method = (char *)ms->method->full_name + (ms->method->full_name[0] == '/');
	out->calls = total;
	out->errors = total - codes[LRPC_OK];
	out->max_ns = atomic_load_explicit(&ms->max_ns, memory_order_relaxed);
	out->p50_ns = total ? quantile(hist, total, 0.50, out->max_ns) : 0;
	out->p99_ns = total ? quantile(hist, total, 0.99, out->max_ns) : 0;
	out->codes = lrpc_call_alloc(call, ncodes * sizeof(*out->codes) +
					   ncodes * sizeof(**out->codes) + 1);
	if (!out->codes)
		return LRPC_RESOURCE_EXHAUSTED;
	for (unsigned int c = 0; c < CODES; c++) {
		Lazyrpc__Stats__V1__CodeCount *cc;

		if (!codes[c])
			continue;
		cc = (Lazyrpc__Stats__V1__CodeCount *)(out->codes + ncodes) + out->n_codes;
		lazyrpc__stats__v1__code_count__init(cc);
		cc->code = (char *)lrpc_code_name((lrpc_code)c);
		cc->count = codes[c];
		out->codes[out->n_codes++] = cc;
	}
	return LRPC_OK;
}

static lrpc_code get(void *user, lrpc_call *call, const Lazyrpc__Stats__V1__GetRequest *req,
		     Lazyrpc__Stats__V1__GetResponse *rep)
{
	lrpc_stats *s = user;
	unsigned int n = atomic_load(&s->n);
	const char *prefix = req->prefix ? req->prefix : "";
	Lazyrpc__Stats__V1__MethodStats *v;
	lrpc_server_stats st;
	lrpc_code code;

	v = lrpc_call_alloc(call, n * (sizeof(*v) + sizeof(v)) + 1);
	if (!v)
		return LRPC_RESOURCE_EXHAUSTED;
	rep->methods = (Lazyrpc__Stats__V1__MethodStats **)(v + n);
	for (unsigned int i = 0; i < n; i++) {
		struct method_stats *ms;
		const char *name;

		pthread_mutex_lock(&s->lock);
		ms = s->order[i];
		pthread_mutex_unlock(&s->lock);
		name = ms->method->full_name + (ms->method->full_name[0] == '/');
		if (strncmp(name, prefix, strlen(prefix)) != 0)
			continue;
		lazyrpc__stats__v1__method_stats__init(&v[rep->n_methods]);
		code = fill_method(call, ms, &v[rep->n_methods]);
		if (code != LRPC_OK)
			return code;
		rep->methods[rep->n_methods] = &v[rep->n_methods];
		rep->n_methods++;
	}
	lrpc_server_stats_get(s->srv, &st);
	rep->uptime_ns = (uint64_t)(lrpc_now() - s->started);
	rep->clients_active = st.clients_active;
	rep->clients_accepted = st.clients_accepted;
	rep->clients_rejected = st.clients_rejected;
	return LRPC_OK;
}

static const Lazyrpc__Stats__V1__Stats_Handlers handlers = { .get = get };

static void stats_free(void *arg)
{
	lrpc_stats *s = arg;

	for (unsigned int i = 0; i < atomic_load(&s->n); i++)
		free(s->order[i]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int lrpc_server_add_stats(lrpc_server *srv)
{
	lrpc_interceptor ic = { .after = count_call };
	lrpc_stats *s;
	int ret;

	if (!srv)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->srv = srv;
	s->started = lrpc_now();
	ic.arg = s;
	ret = lrpc_server_on_free(srv, stats_free, s);
	if (ret < 0) {
		stats_free(s);
		return ret;
	}
	/* From here on s is the server's, freed with it. */
	ret = lazyrpc__stats__v1__stats__register(srv, &handlers, s);
	if (ret < 0)
		return ret;
	return lrpc_server_add_interceptor(srv, &ic);
}
