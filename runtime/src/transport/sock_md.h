/* SPDX-License-Identifier: MIT */
/*
 * Call metadata in unix:// and tcp:// frames (sock_md.c; the layout is in
 * wire/frame.h): what the client writes and reads, what the server reads
 * and writes. The blocks are wire/md_block.h's, as lrpc:// lanes carry
 * them; every peer's entry passes serve/metadata.c's rules.
 */
#ifndef LRPC_SOCK_MD_H
#define LRPC_SOCK_MD_H

#include "serve/metadata.h"
#include "transport/transport.h"
#include "wire/frame.h"
#include "wire/md_block.h"

/* Does the call of \p rb send metadata or want it back (and so go with
 * LRPC__FRAME_CALL_MD)? */
static inline bool lrpc__sock_md_wanted(const struct lrpc__req_buf *rb)
{
	return rb->n_md || rb->headers || rb->trailers;
}

/*
 * The client, after reading reply \p f (its body at \p body, private
 * memory) to a request with LRPC__FRAME_CALL_MD: append the response
 * headers and trailers to \p headers and \p trailers (each may be NULL:
 * not wanted) and set *payload_len to the reply payload's bytes, which
 * start at body + f->msg_len. Runs whatever the status: trailers come
 * with errors too.
 * \return LRPC_OK; INTERNAL (lengths past the body or the limit, a broken
 * block, an entry the rules refuse), RESOURCE_EXHAUSTED (no memory), with
 * \p st; the lists may then hold part of what came.
 */
lrpc_code lrpc__sock_md_take_reply(const struct lrpc__frame *f,
				   const unsigned char *body,
				   lrpc_metadata_list *headers,
				   lrpc_metadata_list *trailers,
				   size_t *payload_len, lrpc_status *st);

/*
 * The server, a worker thread: append \p md's headers and trailers to the
 * reply frame *frame (*len bytes, header included, malloc'd; realloc'd
 * here) and set its header's lengths. \return 0, -ENOMEM (*frame as it
 * was).
 */
int lrpc__sock_md_put_reply(unsigned char **frame, size_t *len,
			    const struct lrpc__md_out *md);

#endif
