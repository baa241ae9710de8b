// SPDX-License-Identifier: MIT
/*
 * The wakeup veto's static key: on with the first receiver, off a second
 * after the last. guest-init runs this test first, before its keeper
 * holds a receiver for the rest of the run (see there), so that the
 * kernel rewrites try_to_wake_up() both ways here, on an idle guest,
 * under the debug kernel's checks: two rounds of a service whose
 * receiver's registration turns the key on, calls that run with it on,
 * and an exit that turns it off after the kernel's one-second deferral.
 * User space cannot see the key, so the test waits out that second (and
 * a half) instead of watching for it; it fails if a call fails or the
 * kernel complains (the harness checks dmesg).
 */
// ktest: timeout=60 early
#include "rpal_test.h"

#define N 200
#define KEY_OFF_US 1500000

struct shm {
	struct ctx rctx, sctx;
	volatile uint64_t key;
	volatile uint32_t id;
};

static void round_trip(struct shm *m)
{
	int fd = rpal_open();
	struct rpal_service_info info;
	struct rpal_wait w;
	pid_t server;

	memset(m, 0, sizeof(*m));
	server = fork();
	CHECK(server >= 0);
	if (server == 0) {
		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		/* The first receiver: the key turns on here. */
		rpal_register(fd, &m->rctx, 1);
		m->id = info.id;
		__atomic_store_n(&m->key, info.key, __ATOMIC_RELEASE);
		CHECK_OK(rpal_wait(fd, 5000000000LL, &w));
		for (int i = 1; i < N; i++)
			CHECK_OK(rpal_reply_wait(fd, 5000000000LL, &w));
		/* Replies to the last call, then exits: key off in 1 s. */
		CHECK_ERR(rpal_reply_wait(fd, 0, &w), ETIMEDOUT);
		_exit(0);
	}
	CHECK(rpal_connect(fd, &m->key, &m->sctx) == m->id);
	for (int i = 0; i < N; i++) {
		long r;

		while ((r = rpal_call(fd, m->id, 0, 5000000000LL)) == -1 &&
		       errno == EAGAIN)
			sched_yield();
		if (r)
			FAIL("call %d: %s", i, strerror(errno));
	}
	CHECK(reap(server) == 0);
	close(fd);
}

int main(void)
{
	struct shm *m = shared_alloc(sizeof(*m));

	close(rpal_open());
	for (int round = 0; round < 2; round++) {
		/* In a child, so that no sender of ours outlives the round. */
		pid_t pid = fork();

		CHECK(pid >= 0);
		if (pid == 0) {
			round_trip(m);
			_exit(0);
		}
		CHECK(reap(pid) == 0);
		usleep(KEY_OFF_US);
	}
	printf("2 rounds of %d calls, the key on and off twice\n", N);
	return 0;
}
