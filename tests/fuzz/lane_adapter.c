// SPDX-License-Identifier: MIT
/*
 * A hostile lrpc:// client for the lane fuzzer (fuzz.h): the handshake by
 * hand, the region mapped, and calls on lane 0 whose metadata and request
 * bytes are whatever the input says, made with the futex hand-off's own
 * call so that only the lane's contents are hostile; and streams on that
 * lane, whose rings and control block the input writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client/metadata.h"
#include "fuzz.h"
#include "handoff/handoff.h"
#include "wire/handshake.h"
#include "wire/lane.h"
#include "wire/lane_ring.h"

struct fz_lane {
	int ctl;
	struct lrpc__geom g;
	uint32_t call_word;
	unsigned char *base;
	struct lrpc__lane *lane;
	_Atomic int dead;
	struct lrpc__hclient hc;
};

struct fz_lane *fz_lane_connect(const char *ctl_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct lrpc__hello h = { .magic = LRPC__HELLO_MAGIC,
				 .version = LRPC__CTL_VERSION,
				 };
	struct lrpc__welcome w;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = &w, .iov_len = sizeof(w) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cm.buf,
			      .msg_controllen = sizeof(cm.buf) };
	struct fz_lane *l = calloc(1, sizeof(*l));
	struct cmsghdr *c;
	int memfd;

	strcpy(h.handoff, lrpc__handoff_futex.name);
	if (!l || strlen(ctl_path) >= sizeof(sa.sun_path))
		fz_die("lane: no memory or path too long");
	strcpy(sa.sun_path, ctl_path);
	l->ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->ctl < 0 ||
	    connect(l->ctl, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(l->ctl, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
	    recvmsg(l->ctl, &msg, MSG_WAITALL | MSG_CMSG_CLOEXEC) != sizeof(w) ||
	    w.status)
		fz_die("lane: handshake failed: %s", strerror(errno));
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		fz_die("lane: no region descriptor");
	memcpy(&memfd, CMSG_DATA(c), sizeof(memfd));
	l->g = (struct lrpc__geom){ .nlanes = w.nlanes, .buf_size = w.buf_size,
				    .lane_stride = w.lane_stride,
				    .region_size = w.region_size };
	if (lrpc__geom_check(&l->g) < 0)
		fz_die("lane: bad geometry");
	l->base = mmap(NULL, l->g.region_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, memfd, 0);
	close(memfd);
	if (l->base == MAP_FAILED)
		fz_die("lane: mmap: %s", strerror(errno));
	l->lane = lrpc__region_lane(l->base, &l->g, 0);
	l->call_word = lrpc__call_word(w.service_id, 1);
	l->hc.ops = &lrpc__handoff_futex;
	l->hc.dead = &l->dead;
	return l;
}

size_t fz_lane_buf_size(const struct fz_lane *l)
{
	return l->g.buf_size;
}

unsigned char *fz_lane_buf(struct fz_lane *l)
{
	return lrpc__lane_buf(l->lane);
}

int fz_lane_call(struct fz_lane *l, const struct fz_lane_meta *call,
		 lrpc_deadline wait_until, struct fz_lane_meta *reply)
{
	int ret;

	l->lane->call.seq = call->seq;
	l->lane->call.deadline = call->deadline;
	l->lane->call.method_id = call->method_or_code;
	l->lane->call.req_len = call->len;
	l->lane->call.md_len = call->md_len;
	ret = lrpc__handoff_futex.call(&l->hc, l->lane, l->call_word,
					 wait_until);
	reply->seq = l->lane->reply.seq;
	reply->deadline = 0;
	reply->method_or_code = l->lane->reply.code;
	reply->len = l->lane->reply.rep_len;
	return ret;
}

/* --- streams on lane 0 (fuzz_lane_stream.c) ----------------------------- */

void fz_lane_stream(struct fz_lane *l, struct fz_stream *s)
{
	struct lrpc__stream_ctl *c = &l->lane->stream;
	uint64_t size = lrpc__ring_size(l->g.buf_size);

	*s = (struct fz_stream){
		.c2s_tail = &c->c2s_tail, .c2s_head = &c->c2s_head,
		.s2c_tail = &c->s2c_tail, .s2c_head = &c->s2c_head,
		.end_seq = &c->end_seq, .cli_flags = &c->cli_flags,
		.srv_bell = &c->srv_bell, .cli_bell = &c->cli_bell,
		.cli_sleepers = &c->cli_sleepers, .cancel = &l->lane->call.cancel,
		.end_code = &c->end_code,
		.c2s = lrpc__lane_buf(l->lane),
		.s2c = lrpc__lane_buf(l->lane) + size,
		.ring_size = size,
		.half_closed = LRPC__STREAM_HALF_CLOSED,
	};
}

int fz_lane_stream_open(struct fz_lane *l, uint64_t seq, uint32_t method,
			lrpc_deadline deadline, lrpc_deadline wait_until,
			uint32_t *code)
{
	return fz_lane_stream_open_md(l, seq, method, deadline, wait_until, NULL, 0,
				      0, code, NULL);
}

int fz_lane_stream_open_md(struct fz_lane *l, uint64_t seq, uint32_t method,
			   lrpc_deadline deadline, lrpc_deadline wait_until,
			   const uint8_t *md, size_t n, uint32_t md_len,
			   uint32_t *code, bool *acked)
{
	struct lrpc__stream_ctl *c = &l->lane->stream;
	int ret;

	atomic_store(&c->c2s_tail, 0);
	atomic_store(&c->s2c_head, 0);
	atomic_store(&c->cli_flags, 0);
	atomic_store(&c->cli_sleepers, 0);
	atomic_store(&l->lane->call.cancel, 0);
	l->lane->call.seq = seq;
	l->lane->call.deadline = deadline;
	l->lane->call.method_id = method;
	l->lane->call.req_len = 0;
	l->lane->call.md_len = 0;
	l->lane->call.flags = LRPC__CALL_STREAM;
	if (acked) {
		/* As a 0.6 client opens one with metadata (wire/lane.h). */
		if (n > l->g.buf_size)
			n = l->g.buf_size;
		memcpy(lrpc__lane_buf(l->lane), md, n);
		l->lane->call.req_len = LRPC__STREAM_MD_REQ_LEN;
		l->lane->call.md_len = md_len;
		l->lane->call.flags = LRPC__CALL_STREAM_MD;
		l->lane->reply.stream_md = 0;
	}
	ret = lrpc__handoff_futex.call(&l->hc, l->lane, l->call_word,
				       wait_until);
	l->lane->call.flags = 0;
	*code = l->lane->reply.seq == seq ? l->lane->reply.code : UINT32_MAX;
	if (acked)
		*acked = l->lane->reply.stream_md == LRPC__STREAM_MD_V1;
	return ret;
}

int fz_md_rec_parse(const uint8_t *rec, size_t n, size_t *entries)
{
	lrpc_metadata_list *h = NULL, *t = NULL;
	int ret = -ENOMEM;

	*entries = 0;
	if (lrpc_metadata_list_new(&h) == 0 && lrpc_metadata_list_new(&t) == 0) {
		ret = lrpc__md_list_from_rec(h, t, rec, n);
		*entries = lrpc_metadata_list_get(h, NULL) + lrpc_metadata_list_get(t, NULL);
	}
	lrpc_metadata_list_free(h);
	lrpc_metadata_list_free(t);
	return ret;
}

uint64_t fz_ring_rec(uint64_t len)
{
	return lrpc__ring_rec(len);
}

void fz_wake(_Atomic uint32_t *bell)
{
	atomic_fetch_add(bell, 1);
	syscall(SYS_futex, bell, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void fz_doze(_Atomic uint32_t *bell, _Atomic uint32_t *sleepers,
	     uint32_t seen, int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000L };

	atomic_fetch_add(sleepers, 1);
	syscall(SYS_futex, bell, FUTEX_WAIT, seen, &ts, NULL, 0);
	atomic_fetch_sub(sleepers, 1);
}
