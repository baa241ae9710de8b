// SPDX-License-Identifier: MIT
/*
 * hostile NAME ROUNDS: a client that does the handshake by hand, maps its
 * region and then writes garbage into it: random bytes over the lane
 * headers and buffers, state words with and without a valid CALL encoding,
 * absurd lengths and method ids, each followed by a futex wake so the
 * receivers look. The server must survive all of it.
 *
 * It goes on until SIGUSR1 arrives and at least ROUNDS rounds are done, so
 * the garbage keeps flying for as long as the honest calls beside it take,
 * however slow the machine.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include "wire/lane.h"
#include "wire/handshake.h"
#include "core/internal.h"
#include "handoff/handoff.h"
#include "handoff/rpal_kernel.h"

/* Our RPAL service id, when the kernel has /dev/rpal: the server then
 * gives us rpal-kernel lanes, and call words carrying this id are the ones
 * its receivers would accept. */
static uint32_t rpal_sid, rpal_peer, *rpal_ids;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static volatile sig_atomic_t told_to_stop;

static void on_usr1(int sig)
{
	(void)sig;
	told_to_stop = 1;
}

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int handshake(const char *name, struct lrpc__welcome *w)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct lrpc__hello h = { .magic = LRPC__HELLO_MAGIC,
				 .version = LRPC__CTL_VERSION };
	char dir[256], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = w, .iov_len = sizeof(*w) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd, memfd;

	if (lrpc_runtime_dir(dir, sizeof(dir)) < 0)
		return -1;
	if (lrpc__rpal_self(&rpal_sid, NULL) == 0)
		h.handoff_id = rpal_sid;
	if (strlen(dir) + strlen(name) + 2 > sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, dir);
	strcat(sa.sun_path, "/");
	strcat(sa.sun_path, name);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, &h, sizeof(h), 0) != sizeof(h) ||
	    recvmsg(fd, &msg, MSG_WAITALL) != sizeof(*w) || w->status)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&memfd, CMSG_DATA(c), sizeof(memfd));
	return memfd; /* the control socket stays open until we exit */
}

int main(int argc, char **argv)
{
	struct lrpc__welcome w;
	struct lrpc__geom g;
	unsigned char *base;
	long rounds;
	int memfd;

	if (argc != 3)
		return 2;
	rounds = atol(argv[2]);
	if (signal(SIGUSR1, on_usr1) == SIG_ERR)
		return 1;
	memfd = handshake(argv[1], &w);
	if (memfd < 0)
		return 1;
	g = (struct lrpc__geom){ .nlanes = w.nlanes, .buf_size = w.buf_size,
				 .lane_stride = w.lane_stride,
				 .region_size = w.region_size };
	base = mmap(NULL, g.region_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    memfd, 0);
	if (base == MAP_FAILED)
		return 1;
	/* With rpal-kernel lanes, garbage is only looked at when a call
	 * arrives: request the service and call with it too. The receiver
	 * ids are saved first, since the scribbling garbles them. */
	w.handoff[sizeof(w.handoff) - 1] = '\0';
	if (lrpc__handoff_find(w.handoff) == &lrpc__handoff_rpal_kernel) {
		rpal_ids = calloc(g.nlanes, sizeof(*rpal_ids));
		if (!rpal_ids || lrpc__rpal_request(w.handoff_key, &rpal_peer) < 0)
			return 1;
		for (uint32_t i = 0; i < g.nlanes; i++)
			rpal_ids[i] = lrpc__region_lane(base, &g, i)->rx.kernel_id;
	}
	printf("mapped %u lanes (%s)\n", g.nlanes, w.handoff);
	fflush(stdout);
	for (long r = 0; r < rounds || !told_to_stop; r++) {
		uint32_t i = (uint32_t)(next() % g.nlanes);
		struct lrpc__lane *lane = lrpc__region_lane(base, &g, i);
		uint64_t v = next();

		switch (v % 5) {
		case 0: /* random bytes anywhere in the lane header */
			for (int k = 0; k < 32; k++)
				((unsigned char *)lane)[next() % LRPC__LANE_HDR_SIZE] =
					(unsigned char)next();
			break;
		case 1: /* a well-formed call with garbage metadata */
			lane->call.method_id = (uint32_t)next();
			lane->call.req_len = (uint32_t)next();
			lane->call.deadline = (int64_t)next();
			atomic_store(&lane->rx.state, lrpc__call_word(w.service_id, i + 1));
			break;
		case 2: /* a real method with garbage bytes */
			lane->call.method_id = lrpc_method_id("/lrpctest.Probe/Echo");
			lane->call.req_len = (uint32_t)(next() % 512);
			lane->call.deadline = lrpc_now() + 1000000000;
			for (uint32_t k = 0; k < lane->call.req_len; k++)
				lrpc__lane_buf(lane)[k] = (unsigned char)next();
			atomic_store(&lane->rx.state, lrpc__call_word(w.service_id, i + 1));
			break;
		case 3: /* a state word with the wrong ids or state, or (with
			 * RPAL) a CALL in our own name that the kernel would
			 * obey if this were its word */
			atomic_store(&lane->rx.state,
				     rpal_sid && (v & 8) ? lrpc__call_word(rpal_sid, 1) :
							   (uint32_t)next());
			break;
		default: /* garbage in the buffer while a call may be served */
			for (int k = 0; k < 64; k++)
				lrpc__lane_buf(lane)[next() % g.buf_size] =
					(unsigned char)next();
			break;
		}
		syscall(SYS_futex, &lane->rx.state, FUTEX_WAKE, 1, NULL, NULL, 0);
		if (rpal_ids && (v % 5 == 1 || v % 5 == 2))
			lrpc__rpal_call(rpal_peer, rpal_ids[i],
					lrpc_deadline_after_ms(100));
	}
	/*
	 * Catch each receiver asleep in WAIT and swap in CALL in our name:
	 * were that the kernel's word, the kernel would veto every ordinary
	 * wakeup of the receiver, its stop checks included, and the server
	 * could never stop. A receiver that was not quite asleep takes it for
	 * a call and goes back to WAIT, hence a few rounds.
	 */
	for (int round = 0; rpal_sid && round < 5; round++) {
		for (uint32_t i = 0; i < g.nlanes; i++) {
			_Atomic uint32_t *word = &lrpc__region_lane(base, &g, i)->rx.state;
			lrpc_deadline until = lrpc_deadline_after_ms(200);
			uint32_t want = LRPC__RX_WAIT;

			while (lrpc__word_state(atomic_load(word)) != LRPC__RX_WAIT &&
			       lrpc_now() < until)
				sched_yield();
			want = atomic_load(word);
			atomic_compare_exchange_strong(word, &want,
						       lrpc__call_word(rpal_sid, 1));
		}
		usleep(50000);
	}
	printf("done\n");
	fflush(stdout);
	return 0;
}
