// SPDX-License-Identifier: MIT
/* gRPC's wire pieces for the grpc fuzzers (fuzz.h). */
#include <stdlib.h>

#include "fuzz.h"
#include "transport/grpc_md.h"
#include "wire/grpc.h"

const size_t fz_grpc_prefix = LRPC__GRPC_PREFIX;

int fz_grpc_timeout_parse(const char *v, size_t len, int64_t *ns)
{
	return lrpc__grpc_timeout_parse(v, len, ns);
}

size_t fz_grpc_timeout_format(int64_t ns, char *out)
{
	return lrpc__grpc_timeout_format(ns, out);
}

size_t fz_grpc_pct_encode(const char *in, size_t len, char *out, size_t cap)
{
	return lrpc__grpc_pct_encode(in, len, out, cap);
}

size_t fz_grpc_pct_decode(const char *in, size_t len, char *out, size_t cap)
{
	return lrpc__grpc_pct_decode(in, len, out, cap);
}

struct fz_msgq {
	struct lrpc__grpc_msgq q;
};

struct fz_msgq *fz_msgq_new(size_t max)
{
	struct fz_msgq *m = malloc(sizeof(*m));

	if (m)
		lrpc__grpc_msgq_init(&m->q, max);
	return m;
}

void fz_msgq_free(struct fz_msgq *m)
{
	lrpc__grpc_msgq_free(&m->q);
	free(m);
}

int fz_msgq_push(struct fz_msgq *m, const void *p, size_t n)
{
	return lrpc__grpc_msgq_push(&m->q, p, n);
}

int fz_msgq_next(struct fz_msgq *m, const unsigned char **msg, size_t *len)
{
	return (int)lrpc__grpc_msgq_next(&m->q, msg, len);
}

void fz_msgq_pop(struct fz_msgq *m)
{
	lrpc__grpc_msgq_pop(&m->q);
}

size_t fz_msgq_len(const struct fz_msgq *m)
{
	return lrpc__grpc_msgq_len(&m->q);
}

size_t fz_grpc_b64_encode(const void *in, size_t len, char *out)
{
	return lrpc__grpc_b64_encode(in, len, out);
}

ssize_t fz_grpc_b64_decode(const char *in, size_t len, unsigned char *out)
{
	return lrpc__grpc_b64_decode(in, len, out);
}

const size_t fz_md_max = LRPC_METADATA_MAX;

struct fz_md {
	struct lrpc__grpc_md_in m;
};

struct fz_md *fz_md_new(void)
{
	return calloc(1, sizeof(struct fz_md));
}

int fz_md_add(struct fz_md *m, const uint8_t *name, size_t nlen,
	      const uint8_t *value, size_t vlen)
{
	return lrpc__grpc_md_in_add(&m->m, name, nlen, value, vlen);
}

int fz_md_finish(struct fz_md *m, const char **bad)
{
	return lrpc__grpc_md_in_finish(&m->m, bad);
}

size_t fz_md_count(const struct fz_md *m)
{
	return m->m.n;
}

void fz_md_at(const struct fz_md *m, size_t i, const char **key,
	      const void **value, size_t *len)
{
	*key = m->m.v[i].key;
	*value = m->m.v[i].value;
	*len = m->m.v[i].value_len;
}

void fz_md_free(struct fz_md *m)
{
	lrpc__grpc_md_in_free(&m->m);
	free(m);
}
