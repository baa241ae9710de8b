// SPDX-License-Identifier: MIT
/*
 * What a grpc:// client connection sends. A request's DATA is not copied
 * into nghttp2's frame buffer: read_req (grpc_client.c) answers
 * NGHTTP2_DATA_FLAG_NO_COPY and nghttp2 hands each frame to
 * lrpc__gcall_send_data, which gives its header and bytes to the
 * connection's put_data. A synchronous call's put_data (this file)
 * gathers nghttp2's frames, copied into k->wbuf, and the request's bytes,
 * by reference to the call's buffer (which lives until the call ends),
 * into one sendmsg; on grpcs:// everything is sealed into k->wbuf. The
 * asynchronous calls' put_data is grpc_async.c's.
 *
 * Threads: the connection's, like the rest of it (grpc_client.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "transport/grpc_client.h"
#include "transport/sock.h"

/* Bytes gathered before they are written: a 64 KiB request with its
 * frames and headers in one sendmsg, and k->wbuf bounded on grpcs://. */
#define OUT_BATCH 262144u

/* Write what is gathered, blocking until \p k->wdeadline. \return 0,
 * -ETIMEDOUT, -ECONNRESET, -errno. */
static int out_write(struct gcconn *k)
{
	struct iovec iov[GCONN_SEGS];
	struct msghdr mh = { .msg_iov = iov };
	size_t i, n = k->nseg;
	int ret = 0;

	for (i = 0; i < n; i++)
		iov[i] = (struct iovec){
			.iov_base = (void *)(k->seg[i].p ? k->seg[i].p : k->wbuf + k->seg[i].off),
			.iov_len = k->seg[i].n,
		};
	for (i = 0; i < n && ret == 0;) {
		ssize_t w;

		mh.msg_iov = iov + i;
		mh.msg_iovlen = n - i;
		w = sendmsg(k->fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			/* The socket is full: this piece as sock.c waits for
			 * room, then the rest at once again. */
			ret = lrpc__sock_write_all(k->fd, iov[i].iov_base, iov[i].iov_len,
						   k->wdeadline);
			i++;
			continue;
		}
		if (w < 0)
			return errno == EPIPE ? -ECONNRESET : -errno;
		for (size_t left = (size_t)w; left;) {
			size_t take = left < iov[i].iov_len ? left : iov[i].iov_len;

			iov[i].iov_base = (char *)iov[i].iov_base + take;
			iov[i].iov_len -= take;
			left -= take;
			if (!iov[i].iov_len)
				i++;
		}
	}
	k->nseg = 0;
	k->wlen = k->segbytes = 0;
	return ret;
}

/* Room for one more piece: write first when full. */
static int out_room(struct gcconn *k)
{
	return k->nseg == GCONN_SEGS || k->segbytes >= OUT_BATCH ? out_write(k) : 0;
}

/* \p n bytes at \p p, copied (and sealed on grpcs://). */
static int out_copy(struct gcconn *k, const uint8_t *p, size_t n)
{
	struct gseg *last;
	size_t at;
	int ret;

	if ((ret = out_room(k)) < 0)
		return ret;
	at = k->wlen;
	if ((ret = lrpc__gconn_seal(k->tls, p, n, &k->wbuf, &k->wcap, &k->wlen)) < 0)
		return ret;
	n = k->wlen - at;
	if (!n)
		return 0;
	last = k->nseg ? &k->seg[k->nseg - 1] : NULL;
	if (last && !last->p && last->off + last->n == at)
		last->n += n;
	else
		k->seg[k->nseg++] = (struct gseg){ .off = at, .n = n };
	k->segbytes += n;
	return 0;
}

/* A request's DATA frame: its header copied, its bytes by reference. */
static int sync_put(struct gcconn *k, const uint8_t *hd, const uint8_t *p, size_t n)
{
	int ret = out_copy(k, hd, 9);

	if (ret < 0 || !n)
		return ret;
	if (k->tls)
		return out_copy(k, p, n);
	if ((ret = out_room(k)) < 0)
		return ret;
	k->seg[k->nseg++] = (struct gseg){ .p = p, .n = n };
	k->segbytes += n;
	return 0;
}

void lrpc__gcconn_out_init(struct gcconn *k)
{
	k->put_data = sync_put;
}

int lrpc__gcconn_send(struct gcconn *k, lrpc_deadline deadline)
{
	ssize_t n;
	int ret = 0;

	k->wdeadline = deadline;
	k->werr = 0;
	do {
		const uint8_t *p;

		n = nghttp2_session_mem_send(k->ng, &p);
		if (n < 0)
			ret = k->werr ? k->werr : -EPROTO;
		else if (n > 0)
			ret = out_copy(k, p, (size_t)n);
	} while (n > 0 && ret == 0);
	if (ret == 0 && k->nseg)
		ret = out_write(k);
	k->nseg = 0;
	k->wlen = k->segbytes = 0;
	return ret;
}

int lrpc__gcall_send_data(nghttp2_session *ng, nghttp2_frame *frame,
			  const uint8_t *framehd, size_t length,
			  nghttp2_data_source *src, void *user)
{
	struct gcconn *k = user;
	struct gcall *c = src->ptr;
	int ret;

	(void)ng;
	/* No padding: the session has no select_padding_callback. */
	if (frame->data.padlen || length > c->len - c->sent)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	ret = k->put_data(k, framehd, c->mem + c->sent, length);
	if (ret > 0)
		return NGHTTP2_ERR_WOULDBLOCK; /* the same frame again later */
	if (ret < 0) {
		k->werr = ret;
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	c->sent += length;
	return 0;
}
