// SPDX-License-Identifier: MIT
/*
 * Call and reply between two processes; the state words at each step:
 * receiver RUNNING -> WAIT -> CALL(ids) -> KERNEL_RET(ids) -> WAIT ...,
 * sender RUNNING -> CALL -> RUNNING. Named and any-receiver calls.
 */
#include "rpal_test.h"

#define N 2000

struct shm {
	struct ctx rctx, sctx;
	volatile uint64_t key;
	volatile uint32_t id, client_id, sender_id, receiver_id;
	volatile uint32_t calls, bad;
};

int main(void)
{
	struct shm *m = shared_alloc(sizeof(*m));
	int fd = rpal_open();
	struct rpal_service_info info;
	pid_t server;

	server = fork();
	if (server == 0) {
		struct rpal_wait w;
		int i;

		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		m->receiver_id = rpal_register(fd, &m->rctx, 1);
		m->id = info.id;
		__atomic_store_n(&m->key, info.key, __ATOMIC_RELEASE);
		CHECK_OK(rpal_wait(fd, 5000000000LL, &w));
		for (i = 0; i < N; i++) {
			uint32_t word = m->rctx.word;

			/* The caller is asleep in CALL while we run. */
			if (st(word) != RPAL_RECEIVER_KERNEL_RET ||
			    sid(word) != m->client_id || snd(word) != m->sender_id ||
			    w.service_id != m->client_id || w.sender_id != m->sender_id ||
			    m->sctx.word != RPAL_SENDER_CALL)
				m->bad++;
			m->calls++;
			/* Half the time the runtime marks itself RUNNING. */
			if (i & 1)
				m->rctx.word = RPAL_RECEIVER_RUNNING;
			if (i == N - 1)
				break;
			CHECK_OK(rpal_reply_wait(fd, 5000000000LL, &w));
		}
		CHECK_ERR(rpal_reply_wait(fd, 100000000, &w), ETIMEDOUT);
		_exit(0);
	}

	while (!__atomic_load_n(&m->key, __ATOMIC_ACQUIRE))
		usleep(1000);
	struct rpal_request req = { .key = m->key };

	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	m->client_id = info.id;
	m->sender_id = rpal_register(fd, &m->sctx, 0);
	CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
	CHECK(req.id == m->id);

	for (int i = 0; i < N; i++) {
		struct rpal_call c = { m->id, i & 1 ? m->receiver_id : 0, 5000000000LL };
		long r;

		/* The receiver may not be back in WAIT yet. */
		while ((r = ioctl(fd, RPAL_IOC_CALL, &c)) == -1 && errno == EAGAIN) {
			CHECK(st(m->rctx.word) != RPAL_RECEIVER_CALL);
			sched_yield();
		}
		if (r)
			FAIL("call %d: %s", i, strerror(errno));
		CHECK(c.receiver_id == m->receiver_id);
		CHECK(m->sctx.word == RPAL_SENDER_RUNNING);
		CHECK(m->calls == (uint32_t)i + 1);
	}
	CHECK(reap(server) == 0);
	CHECK(m->bad == 0);
	/* The server is gone: its service with it. */
	CHECK_ERR(rpal_call(fd, m->id, 0, 0), ECONNREFUSED);
	CHECK_ERR(ioctl(fd, RPAL_IOC_REQUEST, &req), EACCES);
	printf("%d calls\n", N);
	return 0;
}
