// SPDX-License-Identifier: MIT
/*
 * Call options of asynchronous unary calls (lrpc_channel_call_async_opts):
 * the request metadata copied into the call's own memory (the caller may
 * free its array once the start returns), and the response headers and
 * trailers, which the transport fills into lists private to the call.
 * Those are handed over to the caller's lists only when the transport
 * finishes the call, under the cq's lock (cq.c): a call that a cancel or
 * its deadline finished first may still have its transport (a watcher
 * thread, or a pool thread) writing its private lists as the late answer
 * comes, when the caller may already have freed its own;
 * so nothing but that hand-over ever touches the caller's lists after the
 * start, and the private ones go with the call's memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/async_md.h"
#include "client/metadata.h"
#include "client/pending.h"

/* Replace the copy with one of \p md (\p n entries, checked), in one
 * block: the entries, then each key and value with a NUL after it. */
int lrpc__async_md_set(struct lrpc__async_md *m, const lrpc_metadata *md, size_t n)
{
	size_t bytes = n * sizeof(*md);
	lrpc_metadata *copy;
	char *at;

	for (size_t i = 0; i < n; i++)
		bytes += strlen(md[i].key) + 1 + md[i].value_len + 1;
	copy = malloc(bytes ? bytes : 1);
	if (!copy)
		return -ENOMEM;
	at = (char *)(copy + n);
	for (size_t i = 0; i < n; i++) {
		size_t klen = strlen(md[i].key);

		memcpy(at, md[i].key, klen + 1);
		copy[i].key = at;
		at += klen + 1;
		if (md[i].value_len)
			memcpy(at, md[i].value, md[i].value_len);
		at[md[i].value_len] = '\0';
		copy[i].value = at;
		copy[i].value_len = md[i].value_len;
		at += md[i].value_len + 1;
	}
	free(m->copy);
	m->copy = copy;
	m->opts.metadata = n ? copy : NULL;
	m->opts.n_metadata = n;
	return 0;
}

int lrpc__async_md_new(struct lrpc_async *p, const lrpc_call_opts *o)
{
	struct lrpc__async_md *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->user_headers = o->headers;
	m->user_trailers = o->trailers;
	m->opts.headers = o->headers ? &m->headers : NULL;
	m->opts.trailers = o->trailers ? &m->trailers : NULL;
	/* A set that breaks the rules is not copied (it may hold NULL
	 * keys); the start fails the call with why. */
	m->refused.code = lrpc__md_check(o->metadata, o->n_metadata, &m->refused);
	if (m->refused.code == LRPC_OK &&
	    lrpc__async_md_set(m, o->metadata, o->n_metadata) < 0) {
		free(m);
		return -ENOMEM;
	}
	/* Cleared now, on the caller's thread: a call that ends without the
	 * transport's answer (cancel, deadline, refusal) leaves them empty. */
	lrpc_metadata_list_clear(o->headers);
	lrpc_metadata_list_clear(o->trailers);
	p->md = m;
	return 0;
}

bool lrpc__async_md_carried(const struct lrpc__async_md *m)
{
	return m && (m->opts.n_metadata || m->opts.headers || m->opts.trailers);
}

static void swap(lrpc_metadata_list *user, lrpc_metadata_list *mine)
{
	lrpc_metadata_list t;

	if (!user)
		return;
	t = *user;
	*user = *mine;
	*mine = t; /* the caller's old (empty) array, freed with the call */
}

void lrpc__async_md_deliver(struct lrpc__async_md *m)
{
	if (!m)
		return;
	swap(m->user_headers, &m->headers);
	swap(m->user_trailers, &m->trailers);
}

static void list_drop(lrpc_metadata_list *l)
{
	lrpc_metadata_list_clear(l);
	free(l->v);
}

void lrpc__async_md_free(struct lrpc__async_md *m)
{
	if (!m)
		return;
	list_drop(&m->headers);
	list_drop(&m->trailers);
	free(m->copy);
	free(m);
}
