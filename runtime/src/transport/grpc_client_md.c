// SPDX-License-Identifier: MIT
/*
 * Call metadata on the grpc:// client: the request's metadata as custom
 * headers (binary values in base64), and the response's headers and
 * trailers into the caller's lists (transport/grpc_md.c does the
 * encoding both ways, as for the server).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/metadata.h"
#include "transport/grpc_client.h"

int lrpc__gcall_md_take(struct gcall *c, bool trailer, const uint8_t *name, size_t nlen,
			const uint8_t *value, size_t vlen)
{
	if (!(trailer ? c->rb.trailers : c->rb.headers))
		return 0;
	return lrpc__grpc_md_in_add(trailer ? &c->trl_in : &c->hdr_in, name, nlen, value,
				    vlen);
}

static int deliver(struct lrpc__grpc_md_in *in, lrpc_metadata_list *l, const char **bad)
{
	int ret;

	if (!l)
		return 0;
	/* More than LRPC_METADATA_MAX from the server: what fit is kept. */
	in->too_big = false;
	ret = lrpc__grpc_md_in_finish(in, bad);
	for (size_t i = 0; ret == 0 && i < in->n; i++)
		ret = lrpc__md_list_add(l, in->v[i].key, strlen(in->v[i].key), in->v[i].value,
					in->v[i].value_len);
	return ret;
}

int lrpc__gcall_md_deliver(struct gcall *c, const char **bad)
{
	int ret = deliver(&c->hdr_in, c->rb.headers, bad);

	if (ret == 0)
		ret = deliver(&c->trl_in, c->rb.trailers, bad);
	lrpc__gcall_md_free(c);
	return ret;
}

lrpc_code lrpc__gcall_md_result(struct gcall *c, lrpc_status *st)
{
	const char *bad = NULL;

	if (lrpc__gcall_md_deliver(c, &bad) < 0)
		return bad ? lrpc__status_fail(st, LRPC_INTERNAL,
					       "response metadata %.64s is not base64", bad) :
			     lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED, "out of memory");
	return LRPC_OK;
}

void lrpc__gcall_md_use(struct gcall *c, const lrpc_call_opts *opts)
{
	if (!opts)
		return;
	c->rb.md = opts->metadata;
	c->rb.n_md = opts->n_metadata;
	c->rb.headers = opts->headers;
	c->rb.trailers = opts->trailers;
}

void lrpc__gcall_md_free(struct gcall *c)
{
	lrpc__grpc_md_in_free(&c->hdr_in);
	lrpc__grpc_md_in_free(&c->trl_in);
}

nghttp2_nv *lrpc__gcall_md_nv(const struct gcall *c, const nghttp2_nv *lead, size_t nlead,
			      size_t *n, struct lrpc__grpc_nvs *block)
{
	*block = (struct lrpc__grpc_nvs){ 0 };
	if (lrpc__grpc_md_pack_v(c->rb.md, c->rb.n_md, block) < 0)
		return NULL;
	return lrpc__grpc_nv_join(lead, nlead, block, NULL, n);
}
