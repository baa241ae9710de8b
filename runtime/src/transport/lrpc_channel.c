// SPDX-License-Identifier: MIT
/*
 * An lrpc:// channel over successive connections (lrpc_client.c): the
 * transport's ops. When the server went away, the next call dials the
 * name again; calls in between fail fast with UNAVAILABLE (the channel's
 * wait_for_ready makes them wait instead: client/channel.c), and failed
 * dials back off, from 20 ms doubling to 1 s.
 *
 * A connection that lent out lanes lives until the last comes back; its
 * memory is reused, never freed before the channel closes, so the fast
 * path takes a reference without a lock (lrpc__chan_get).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport/lrpc_client.h"

#define BACKOFF_MIN_MS 20
#define BACKOFF_MAX_MS 1000

struct shm_top {
	_Atomic(struct shm_chan *) cur; /* NULL while none is connected */
	_Atomic(struct lrpc__lasync *) async; /* lrpc_async.c's, on first use */
	pthread_mutex_t lock;           /* the rest */
	struct shm_chan *all;           /* every connection's memory */
	bool dialing;
	lrpc_deadline retry_at;
	int64_t backoff_ms;
	struct lrpc__addr addr;
	const lrpc_channel_opts *opts; /* the channel's */
	const char **handoff;          /* the channel's, renewed on dial */
};

void lrpc__chan_ref(struct shm_chan *ch)
{
	atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
}

void lrpc__chan_unref(struct shm_chan *ch)
{
	if (atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Nobody can reach it any more: not current, no lane lent. */
	lrpc__chan_teardown(ch);
	pthread_mutex_lock(&ch->top->lock);
	ch->spare = true;
	pthread_mutex_unlock(&ch->top->lock);
}

/* A reference to the current connection, or NULL. A connection replaced
 * meanwhile is recognised and given back: its memory is still ours. */
static struct shm_chan *chan_get(struct shm_top *t)
{
	for (;;) {
		struct shm_chan *ch = atomic_load_explicit(&t->cur, memory_order_acquire);
		unsigned int r;

		if (!ch)
			return NULL;
		r = atomic_load_explicit(&ch->refs, memory_order_relaxed);
		do {
			if (!r)
				break; /* torn down: look again */
		} while (!atomic_compare_exchange_weak_explicit(
			&ch->refs, &r, r + 1, memory_order_acquire,
			memory_order_relaxed));
		if (r && atomic_load_explicit(&t->cur, memory_order_acquire) == ch)
			return ch;
		if (r)
			lrpc__chan_unref(ch);
	}
}

/* Memory for a new connection: one torn down, or a new one. Lock held. */
static struct shm_chan *chan_mem(struct shm_top *t)
{
	struct shm_chan *ch;

	for (ch = t->all; ch; ch = ch->next)
		if (ch->spare) {
			ch->spare = false;
			return ch;
		}
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->top = t;
	ch->next = t->all;
	t->all = ch;
	return ch;
}

/* Dial again, unless another thread is at it or the backoff says wait.
 * \return a reference to the new connection, or NULL (st says why). */
static struct shm_chan *redial(struct shm_top *t, lrpc_deadline deadline,
			       lrpc_code *code, lrpc_status *st)
{
	lrpc_deadline d = lrpc_deadline_after_ms(t->opts->connect_timeout_ms);
	struct shm_chan *ch, *old;
	int ret;

	pthread_mutex_lock(&t->lock);
	if (t->dialing || lrpc_now() < t->retry_at) {
		pthread_mutex_unlock(&t->lock);
		*code = lrpc__status_fail(st, LRPC_UNAVAILABLE,
					  "server has gone away (reconnecting)");
		return NULL;
	}
	ch = chan_mem(t);
	if (!ch) {
		pthread_mutex_unlock(&t->lock);
		*code = lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					  "out of memory");
		return NULL;
	}
	t->dialing = true;
	pthread_mutex_unlock(&t->lock);

	atomic_store(&ch->refs, 0);
	ret = lrpc__chan_dial(ch, t->opts, &t->addr, d < deadline ? d : deadline,
			      NULL);
	pthread_mutex_lock(&t->lock);
	t->dialing = false;
	if (ret < 0) {
		ch->spare = true; /* dial tore it down */
		t->retry_at = lrpc_now() + t->backoff_ms * 1000000;
		t->backoff_ms = t->backoff_ms * 2 > BACKOFF_MAX_MS ?
					BACKOFF_MAX_MS : t->backoff_ms * 2;
		pthread_mutex_unlock(&t->lock);
		*code = lrpc__status_from_errno(st, ret, deadline,
						"reconnecting");
		if (*code != LRPC_DEADLINE_EXCEEDED) {
			*code = LRPC_UNAVAILABLE;
			if (st)
				st->code = LRPC_UNAVAILABLE;
		}
		return NULL;
	}
	t->backoff_ms = BACKOFF_MIN_MS;
	t->retry_at = 0;
	*t->handoff = ch->hand.ops->name;
	atomic_store(&ch->refs, 2); /* the channel's and the caller's */
	old = atomic_exchange(&t->cur, ch);
	pthread_mutex_unlock(&t->lock);
	if (old)
		lrpc__chan_unref(old);
	return ch;
}

/* The connection to use: the current one while its server lives. */
struct shm_chan *lrpc__chan_use(lrpc_channel *c, lrpc_deadline deadline,
				lrpc_code *code, lrpc_status *st)
{
	struct shm_top *t = c->impl;
	struct shm_chan *ch = chan_get(t);

	if (ch && !atomic_load(&ch->dead))
		return ch;
	if (ch)
		lrpc__chan_unref(ch);
	return redial(t, deadline, code, st);
}

struct shm_chan *lrpc__chan_current(lrpc_channel *c)
{
	struct shm_chan *ch = chan_get(c->impl);

	if (ch && atomic_load(&ch->dead)) {
		lrpc__chan_unref(ch);
		return NULL;
	}
	return ch;
}

_Atomic(struct lrpc__lasync *) *lrpc__chan_async_slot(lrpc_channel *c)
{
	struct shm_top *t = c->impl;

	return &t->async;
}

static lrpc_code top_acquire(lrpc_channel *c, size_t len, lrpc_deadline deadline,
			     struct lrpc__req_buf **out, lrpc_status *st)
{
	lrpc_code code = LRPC_OK;
	struct shm_chan *ch = lrpc__chan_use(c, deadline, &code, st);

	(void)len; /* every lane holds max_msg bytes */
	if (!ch)
		return code;
	code = lrpc__chan_acquire(ch, deadline, out, st);
	lrpc__chan_unref(ch);
	return code;
}

static lrpc_code top_invoke(lrpc_channel *c, struct lrpc__req_buf *rb,
			    uint32_t method_id, size_t req_len,
			    lrpc_deadline deadline, const unsigned char **rep,
			    size_t *rep_len, lrpc_status *st)
{
	(void)c;
	return lrpc__chan_invoke(((struct chan_lane *)rb)->ch, rb, method_id,
				 req_len, deadline, rep, rep_len, st);
}

static void top_release(lrpc_channel *c, struct lrpc__req_buf *rb)
{
	(void)c;
	lrpc__chan_release(((struct chan_lane *)rb)->ch, rb);
}

static lrpc_code top_stream_open(lrpc_channel *c, uint32_t method_id,
				 const char *full_name,
				 lrpc_deadline deadline, const lrpc_call_opts *opts,
				 struct lrpc__cstream **out, lrpc_status *st)
{
	lrpc_code code = LRPC_OK;
	struct shm_chan *ch = lrpc__chan_use(c, deadline, &code, st);

	(void)full_name;
	if (!ch)
		return code;
	code = lrpc__chan_stream_open(ch, method_id, deadline, opts, out, st);
	lrpc__chan_unref(ch);
	return code;
}

/* The current connection's; a channel between connections says the last. */
static size_t top_max_msg(const lrpc_channel *c)
{
	struct shm_top *t = c->impl;
	struct shm_chan *ch = chan_get(t);
	size_t n;

	if (!ch)
		return 0;
	n = ch->geom.buf_size;
	lrpc__chan_unref(ch);
	return n;
}

static void top_close(lrpc_channel *c)
{
	struct shm_top *t = c->impl;
	struct shm_chan *ch, *next;

	if (!t)
		return;
	lrpc__lrpc_async_close(c);
	ch = atomic_exchange(&t->cur, NULL);
	if (ch)
		lrpc__chan_unref(ch);
	/* No call or stream may be in progress: every lane is back. */
	for (ch = t->all; ch; ch = next) {
		next = ch->next;
		free(ch);
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
	c->impl = NULL;
}

static const struct lrpc__chan_ops top_ops = {
	.max_msg = top_max_msg,
	.acquire = top_acquire,
	.invoke = top_invoke,
	.release = top_release,
	.stream_open = top_stream_open,
	.stream_metadata = true,
	.metadata = true,
	.start = lrpc__lrpc_async_start,
	.abandon = lrpc__lrpc_async_abandon,
	.close = top_close,
};

int lrpc__lrpc_dial(lrpc_channel *c, const struct lrpc__addr *addr)
{
	struct shm_top *t = calloc(1, sizeof(*t));
	struct shm_chan *ch;
	int ret;

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->addr = *addr;
	t->opts = &c->opts;
	t->handoff = &c->handoff;
	t->backoff_ms = BACKOFF_MIN_MS;
	c->impl = t;
	c->ops = &top_ops;
	ch = chan_mem(t);
	if (!ch)
		return -ENOMEM;
	ret = lrpc__chan_dial(ch, &c->opts, addr,
			      lrpc_deadline_after_ms(c->opts.connect_timeout_ms),
			      c->opts.open_status);
	if (ret < 0)
		return ret;
	c->handoff = ch->hand.ops->name;
	atomic_store(&ch->refs, 1);
	atomic_store(&t->cur, ch);
	return 0;
}
