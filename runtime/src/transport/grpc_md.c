// SPDX-License-Identifier: MIT
/*
 * Call metadata on grpc:// (PROTOCOL-HTTP2.md, Custom-Metadata): request
 * headers become the handler's metadata, binary ("-bin") values decoded
 * from base64; the handler's headers and trailers go out the other way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport/grpc_md.h"
#include "wire/grpc.h"

int lrpc__grpc_md_in_add(struct lrpc__grpc_md_in *m, const uint8_t *name,
			 size_t nlen, const uint8_t *value, size_t vlen)
{
	size_t cost = nlen + vlen + LRPC__MD_ENTRY_COST;

	/* (nghttp2 lets no NUL into a value; records are NUL-separated.) */
	if (!lrpc__md_key_valid((const char *)name, nlen) ||
	    lrpc__md_key_reserved((const char *)name, nlen) || m->too_big ||
	    memchr(value, '\0', vlen))
		return 0;
	if (m->bytes + cost > LRPC_METADATA_MAX) {
		m->too_big = true;
		return 0;
	}
	/* key + value + 2 NULs < cost: the buffer never passes the limit. */
	if (!m->buf) {
		m->buf = malloc(LRPC_METADATA_MAX);
		if (!m->buf)
			return -ENOMEM;
	}
	memcpy(m->buf + m->len, name, nlen);
	m->buf[m->len + nlen] = '\0';
	memcpy(m->buf + m->len + nlen + 1, value, vlen);
	m->buf[m->len + nlen + 1 + vlen] = '\0';
	m->len += nlen + vlen + 2;
	m->bytes += cost;
	m->n++;
	return 0;
}

int lrpc__grpc_md_in_finish(struct lrpc__grpc_md_in *m, const char **bad)
{
	char *p;

	if (m->too_big)
		return -E2BIG;
	if (!m->n)
		return 0;
	m->v = calloc(m->n, sizeof(*m->v));
	if (!m->v)
		return -ENOMEM;
	p = m->buf;
	for (size_t i = 0; i < m->n; i++) {
		size_t klen = strlen(p), vlen;
		char *val = p + klen + 1;

		vlen = strlen(val); /* a header value has no NUL (nghttp2) */
		p = val + vlen + 1;
		if (lrpc__md_key_binary(val - klen - 1, klen)) {
			ssize_t d = lrpc__grpc_b64_decode(val, vlen, (unsigned char *)val);

			if (d < 0) {
				*bad = val - klen - 1;
				return -EINVAL;
			}
			vlen = (size_t)d;
			val[vlen] = '\0';
		}
		m->v[i] = (lrpc_metadata){ .key = val - klen - 1, .value = val,
					   .value_len = vlen };
	}
	return 0;
}

void lrpc__grpc_md_in_free(struct lrpc__grpc_md_in *m)
{
	free(m->v);
	free(m->buf);
	*m = (struct lrpc__grpc_md_in){ 0 };
}

int lrpc__grpc_md_pack_v(const lrpc_metadata *v, size_t n, struct lrpc__grpc_nvs *out)
{
	size_t size = n * sizeof(nghttp2_nv);
	unsigned char *p;

	lrpc__grpc_nvs_free(out);
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		size += strlen(v[i].key) + v[i].value_len / 3 * 4 + 4;
	out->nv = malloc(size);
	if (!out->nv)
		return -ENOMEM;
	p = (unsigned char *)(out->nv + n);
	for (size_t i = 0; i < n; i++) {
		const lrpc_metadata *e = &v[i];
		size_t klen = strlen(e->key), vlen = e->value_len;
		nghttp2_nv *nv = &out->nv[i];

		/* Copied: the call's arena is gone before the submit. */
		memcpy(p, e->key, klen);
		nv->name = p;
		nv->namelen = klen;
		nv->flags = NGHTTP2_NV_FLAG_NONE;
		p += klen;
		if (lrpc__md_key_binary(e->key, klen)) {
			vlen = lrpc__grpc_b64_encode(e->value, e->value_len, (char *)p);
		} else {
			memcpy(p, e->value, vlen);
		}
		nv->value = p;
		nv->valuelen = vlen;
		p += vlen;
	}
	out->n = n;
	return 0;
}

int lrpc__grpc_md_pack(const struct lrpc__md_set *set, struct lrpc__grpc_nvs *out)
{
	return lrpc__grpc_md_pack_v(set->v, set->n, out);
}

void lrpc__grpc_nvs_free(struct lrpc__grpc_nvs *nvs)
{
	free(nvs->nv);
	nvs->nv = NULL;
	nvs->n = 0;
}

nghttp2_nv *lrpc__grpc_nv_join(const nghttp2_nv *lead, size_t nlead,
			       const struct lrpc__grpc_nvs *a,
			       const struct lrpc__grpc_nvs *b, size_t *n)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0;
	nghttp2_nv *nv = malloc((nlead + na + nb) * sizeof(*nv));

	if (!nv)
		return NULL;
	memcpy(nv, lead, nlead * sizeof(*nv));
	if (na)
		memcpy(nv + nlead, a->nv, na * sizeof(*nv));
	if (nb)
		memcpy(nv + nlead + na, b->nv, nb * sizeof(*nv));
	*n = nlead + na + nb;
	return nv;
}
