// SPDX-License-Identifier: MIT
/*
 * A backend's channel and descriptors: opened at first use (so the
 * gateway starts before its backends and outlives their restarts: the
 * channel reconnects by itself), descriptors from the config's
 * descriptor set or else asked of the backend by grpc.reflection.v1,
 * once, under the backend's lock; read-only from then on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "pbjson_refl.h"

static lrpc_code load_set(struct gw_backend *b, lrpc_status *st)
{
	char err[PBJSON_ERR_MAX] = "";
	FILE *f = fopen(b->descriptor_set, "rb");
	uint8_t *buf = NULL;
	long n;
	int ret = -EIO;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= (64l << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		ret = pbjson_pool_add_set(b->pool, buf, (size_t)n, err);
	if (f)
		fclose(f);
	free(buf);
	if (ret == -EIO)
		snprintf(err, sizeof(err), "cannot read it");
	if (ret < 0) {
		snprintf(st->message, sizeof(st->message), "descriptor set %s: %s",
			 b->descriptor_set, err);
		st->code = LRPC_INTERNAL;
		return st->code;
	}
	return LRPC_OK;
}

static lrpc_code load_reflection(struct gw_backend *b, const struct gw_config *c,
				 lrpc_status *st)
{
	pbjson_refl *r;
	lrpc_code code;

	code = pbjson_refl_open(b->ch, lrpc_deadline_after_ms(c->default_deadline_ms), &r, st);
	for (size_t i = 0; code == LRPC_OK && i < b->n_services; i++)
		code = pbjson_refl_symbol(r, b->pool, b->services[i], st);
	pbjson_refl_close(r);
	if (code == LRPC_UNIMPLEMENTED)
		snprintf(st->message, sizeof(st->message), "%s serves no reflection: give the "
			 "backend a \"descriptor_set\"", b->uri);
	return code;
}

lrpc_code gw_backend_ready(struct gw_backend *b, const struct gw_config *c, lrpc_status *st)
{
	lrpc_code code = LRPC_OK;
	int ret;

	st->code = LRPC_OK;
	st->message[0] = '\0';
	if (atomic_load_explicit(&b->loaded, memory_order_acquire))
		return LRPC_OK;
	pthread_mutex_lock(&b->lock);
	if (!b->ch) {
		lrpc_channel_opts o;

		lrpc_channel_opts_init(&o);
		o.open_status = st;
		o.connect_timeout_ms = c->default_deadline_ms;
		ret = lrpc_channel_open(b->uri, &o, &b->ch);
		if (ret < 0) {
			b->ch = NULL;
			code = st->code != LRPC_OK ? st->code : LRPC_UNAVAILABLE;
			if (code == LRPC_UNIMPLEMENTED || code == LRPC_INVALID_ARGUMENT)
				code = LRPC_UNAVAILABLE;
			st->code = code;
			goto out;
		}
	}
	if (!atomic_load_explicit(&b->loaded, memory_order_relaxed)) {
		code = b->descriptor_set ? load_set(b, st) : load_reflection(b, c, st);
		/* What a failed load added stays; the next try skips known files. */
		if (code == LRPC_OK)
			atomic_store_explicit(&b->loaded, true, memory_order_release);
	}
out:
	pthread_mutex_unlock(&b->lock);
	return code;
}
