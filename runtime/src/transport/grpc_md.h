/* SPDX-License-Identifier: MIT */
/*
 * Call metadata on grpc:// (grpc_md.c): the request's custom headers as
 * a handler sees them, and a handler's headers and trailers as HTTP/2
 * name/value pairs. Each object belongs to one thread at a time.
 */
#ifndef LRPC_TRANSPORT_GRPC_MD_H
#define LRPC_TRANSPORT_GRPC_MD_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>

#include "serve/metadata.h"

/* A request's metadata, collected as its headers arrive. */
struct lrpc__grpc_md_in {
	char *buf;        /* key NUL value NUL, in arrival order */
	size_t len;       /* of at most LRPC_METADATA_MAX bytes */
	size_t bytes;     /* what it counts against LRPC_METADATA_MAX */
	size_t n;
	bool too_big;     /* more came than LRPC_METADATA_MAX: dropped */
	lrpc_metadata *v; /* n entries into buf, once finished */
};

/* One request header that is not gRPC's own; names that are not
 * metadata keys are ignored. \return 0, -ENOMEM. */
int lrpc__grpc_md_in_add(struct lrpc__grpc_md_in *m, const uint8_t *name,
			 size_t nlen, const uint8_t *value, size_t vlen);
/* The headers are complete: index them and decode binary values.
 * \return 0; -E2BIG (too_big); -EINVAL, *bad naming the key of a binary
 * value that is not base64; -ENOMEM. */
int lrpc__grpc_md_in_finish(struct lrpc__grpc_md_in *m, const char **bad);
void lrpc__grpc_md_in_free(struct lrpc__grpc_md_in *m);

/* Headers or trailers to send, in one block (free(nv); NULL when n 0). */
struct lrpc__grpc_nvs {
	nghttp2_nv *nv;
	size_t n;
};

/* \p set as name/value pairs, binary values in base64. Replaces what
 * \p out held. \return 0, -ENOMEM (out left empty). */
int lrpc__grpc_md_pack(const struct lrpc__md_set *set, struct lrpc__grpc_nvs *out);
/* The same for \p n entries at \p v (a client's request metadata). */
int lrpc__grpc_md_pack_v(const lrpc_metadata *v, size_t n, struct lrpc__grpc_nvs *out);
void lrpc__grpc_nvs_free(struct lrpc__grpc_nvs *nvs);

/* \p a then \p b, after \p lead fixed pairs, into one array for
 * nghttp2_submit_*(), which copies it. \return the array (free() it) and
 * its length in *n, or NULL (-ENOMEM). */
nghttp2_nv *lrpc__grpc_nv_join(const nghttp2_nv *lead, size_t nlead,
			       const struct lrpc__grpc_nvs *a,
			       const struct lrpc__grpc_nvs *b, size_t *n);

#endif
