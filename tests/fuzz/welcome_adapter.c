// SPDX-License-Identifier: MIT
/* The lrpc:// welcome and lane layout for the welcome fuzzer (fuzz.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "handoff/handoff.h"
#include "wire/handshake.h"
#include "wire/lane.h"

const size_t fz_wl_hello_size = sizeof(struct lrpc__hello);
const size_t fz_wl_size = sizeof(struct lrpc__welcome);
const size_t fz_wl_lane_hdr = LRPC__LANE_HDR_SIZE;

bool fz_wl_hello_ok(const unsigned char *hello)
{
	struct lrpc__hello h;

	memcpy(&h, hello, sizeof(h));
	return h.magic == LRPC__HELLO_MAGIC && h.version == LRPC__CTL_VERSION;
}

uint64_t fz_wl_region_size(const unsigned char *w)
{
	struct lrpc__welcome wm;

	memcpy(&wm, w, sizeof(wm));
	return wm.region_size;
}

uint64_t fz_wl_buf_size(const unsigned char *w)
{
	struct lrpc__welcome wm;

	memcpy(&wm, w, sizeof(wm));
	return wm.buf_size;
}

int fz_wl_expect(const unsigned char *w, size_t sent, bool hangup,
		 enum fz_wl_fd fd, bool sealed, uint64_t fd_size)
{
	const struct lrpc__handoff *h;
	struct lrpc__welcome wm;
	struct lrpc__geom g;

	/* A server that sits on a short welcome is waited for, in vain. */
	if (sent < sizeof(wm) && !hangup)
		return -ETIMEDOUT;
	if (sent == 0)
		return -ECONNRESET;
	if (sent < sizeof(wm))
		return -EPROTO;
	memcpy(&wm, w, sizeof(wm));
	if (wm.magic != LRPC__WELCOME_MAGIC || wm.version != LRPC__CTL_VERSION)
		return -EPROTO;
	/* A refusal says why, in an errno; anything else is no errno. */
	if (wm.status)
		return wm.status < 4096 ? -(int)wm.status : -EPROTO;
	wm.handoff[sizeof(wm.handoff) - 1] = '\0';
	h = lrpc__handoff_find(wm.handoff);
	if (!h || !lrpc__handoff_available(h))
		return -EPROTO;
	g = (struct lrpc__geom){ .nlanes = wm.nlanes, .buf_size = wm.buf_size,
				 .lane_stride = wm.lane_stride,
				 .region_size = wm.region_size };
	if (fd == FZ_WL_FD_NONE || lrpc__geom_check(&g) < 0 ||
	    wm.service_id == 0 || wm.service_id > LRPC__SERVICE_MASK)
		return -EPROTO;
	/* Only a memfd sealed against shrinking can be mapped safely. */
	if (fd != FZ_WL_FD_MEMFD || !sealed || fd_size < wm.region_size)
		return -EPROTO;
	/* A kernel hand-off's grant depends on the kernel; a huge region on
	 * the address space left. */
	if (h != &lrpc__handoff_futex || wm.region_size > (1ull << 32))
		return FZ_WL_ANY;
	return 0;
}

uint32_t fz_wl_nlanes(const unsigned char *w)
{
	struct lrpc__welcome wm;

	memcpy(&wm, w, sizeof(wm));
	return wm.nlanes;
}

void fz_wl_lane_init(void *lane0)
{
	struct lrpc__lane *l = lane0;

	atomic_store(&l->rx.state, LRPC__RX_WAIT);
	atomic_store(&l->tx.state, LRPC__TX_RUNNING);
	atomic_store(&l->rx.cpu, -1);
	atomic_store(&l->tx.cpu, -1);
}

bool fz_wl_answer(void *lane0, const struct fz_wl_reply *r,
		  lrpc_deadline until, void (*before_reply)(void))
{
	struct lrpc__lane *l = lane0;
	uint32_t w;

	atomic_fetch_add(&l->rx.sleepers, 1);
	while ((w = atomic_load(&l->rx.state)) == LRPC__RX_WAIT) {
		lrpc_deadline now = lrpc_now();
		struct timespec ts = { .tv_sec = until / 1000000000,
				       .tv_nsec = until % 1000000000 };

		if (now >= until)
			break;
		syscall(SYS_futex, &l->rx.state, FUTEX_WAIT_BITSET,
			LRPC__RX_WAIT, &ts, NULL, FUTEX_BITSET_MATCH_ANY);
	}
	atomic_fetch_sub(&l->rx.sleepers, 1);
	if (lrpc__word_state(w) != LRPC__RX_CALL)
		return false;
	if (before_reply)
		before_reply();
	l->reply.seq = r->seq_given ? r->seq : l->call.seq;
	l->reply.code = r->code;
	l->reply.rep_len = r->len;
	memcpy(l->reply.message, r->message, sizeof(l->reply.message));
	memcpy(lrpc__lane_buf(l), r->body, r->body_len);
	atomic_store(&l->rx.state, LRPC__RX_WAIT);
	atomic_store(&l->tx.state, LRPC__TX_RUNNING);
	if (atomic_load(&l->tx.sleepers))
		syscall(SYS_futex, &l->tx.state, FUTEX_WAKE, INT_MAX, NULL,
			NULL, 0);
	return true;
}

void fz_wl_kick(void *lane0)
{
	struct lrpc__lane *l = lane0;
	uint32_t expect = LRPC__RX_WAIT;

	atomic_compare_exchange_strong(&l->rx.state, &expect, LRPC__RX_RUNNING);
	syscall(SYS_futex, &l->rx.state, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
