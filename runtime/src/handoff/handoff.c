// SPDX-License-Identifier: MIT
/*
 * The list of hand-offs and the one place that chooses among them: the
 * probe cache, the LAZYRPC_HANDOFF override and the handshake's
 * negotiation. The best available hand-off both sides have wins, unless
 * the client names one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/handoff.h"

/* Best first; the last is the fallback every kernel has. */
static const struct lrpc__handoff *const handoffs[] = {
	&lrpc__handoff_rpal_user,
	&lrpc__handoff_rpal_kernel,
	&lrpc__handoff_futex,
};

#define NHANDOFFS (sizeof(handoffs) / sizeof(handoffs[0]))

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool usable[NHANDOFFS];
static const char *env_want; /* LAZYRPC_HANDOFF, NULL when unset or "" */

/* Read once per process, like the probes: a process sees one answer. */
static void probe_all(void)
{
	const char *env = getenv("LAZYRPC_HANDOFF");

	env_want = env && *env ? env : NULL;
	for (unsigned int i = 0; i < NHANDOFFS; i++) {
		bool last = i == NHANDOFFS - 1;

		/* The override rules out the others, never the fallback: a
		 * client may still name it, and servers serve it to anyone. */
		if (!last && env_want && strcmp(env_want, handoffs[i]->name))
			continue;
		usable[i] = handoffs[i]->probe();
	}
}

static int index_of(const struct lrpc__handoff *h)
{
	for (unsigned int i = 0; i < NHANDOFFS; i++)
		if (handoffs[i] == h)
			return (int)i;
	return -1;
}

bool lrpc__handoff_available(const struct lrpc__handoff *h)
{
	int i = index_of(h);

	pthread_once(&probe_once, probe_all);
	return i >= 0 && usable[i];
}

bool lrpc__handoff_needs_dumpable(void)
{
	pthread_once(&probe_once, probe_all);
	for (unsigned int i = 0; i < NHANDOFFS; i++)
		if (usable[i] && handoffs[i]->peers_may_ptrace)
			return true;
	return false;
}

const struct lrpc__handoff *lrpc__handoff_find(const char *name)
{
	for (unsigned int i = 0; i < NHANDOFFS; i++)
		if (!strcmp(handoffs[i]->name, name))
			return handoffs[i];
	return NULL;
}

const struct lrpc__handoff *lrpc__handoff_at(unsigned int i)
{
	return i < NHANDOFFS ? handoffs[i] : NULL;
}

int lrpc__handoff_hello(const char *want, struct lrpc__hello *h,
			const struct lrpc__handoff **wanted)
{
	const struct lrpc__handoff *w = NULL;

	pthread_once(&probe_once, probe_all);
	if (!want)
		want = env_want;
	if (want && *want) {
		w = lrpc__handoff_find(want);
		if (!w || !lrpc__handoff_available(w))
			return -EPROTONOSUPPORT;
		strncpy(h->handoff, w->name, sizeof(h->handoff) - 1);
	}
	*wanted = w;
	/* The id (and key) of the best hand-off we could take that has one
	 * to offer: the kernel hand-offs share the process's RPAL service, so
	 * the server may take a worse one than the one that offered. */
	h->handoff_id = 0;
	h->handoff_key[0] = h->handoff_key[1] = 0;
	for (unsigned int i = 0; i < NHANDOFFS; i++) {
		const struct lrpc__handoff *c = handoffs[i];
		uint32_t id = 0;
		uint64_t key = 0;

		if ((w && c != w) || !usable[i] || !c->offer)
			continue;
		if (c->offer(&id, &key) == 0) {
			h->handoff_id = id;
			h->handoff_key[0] = (uint32_t)key;
			h->handoff_key[1] = (uint32_t)(key >> 32);
			break;
		}
	}
	return 0;
}

int lrpc__handoff_accept(const struct lrpc__hello *h, struct lrpc__hconn *c,
			 struct lrpc__welcome *w)
{
	char name[sizeof(h->handoff)];
	const struct lrpc__handoff *want = NULL;

	memcpy(name, h->handoff, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	if (name[0]) {
		want = lrpc__handoff_find(name);
		if (!want)
			return EPROTONOSUPPORT;
	}
	pthread_once(&probe_once, probe_all);
	for (unsigned int i = 0; i < NHANDOFFS; i++) {
		const struct lrpc__handoff *o = handoffs[i];
		int ret;

		if ((want && o != want) || !usable[i])
			continue;
		ret = o->accept(c, h, w);
		if (ret == -EPROTONOSUPPORT)
			continue;
		if (ret < 0)
			return -ret;
		c->ops = o;
		strncpy(w->handoff, o->name, sizeof(w->handoff) - 1);
		return 0;
	}
	return EPROTONOSUPPORT;
}

const struct lrpc__handoff *
lrpc__handoff_welcomed(const struct lrpc__welcome *w,
		       const struct lrpc__handoff *wanted)
{
	char name[sizeof(w->handoff)];
	const struct lrpc__handoff *h;

	memcpy(name, w->handoff, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	h = lrpc__handoff_find(name);
	if (!h || (wanted && h != wanted) || !lrpc__handoff_available(h))
		return NULL;
	return h;
}
