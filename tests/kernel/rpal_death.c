// SPDX-License-Identifier: MIT
/*
 * Death mid-call. 1: the receiver's process is killed while it serves a
 * call: the caller gets ECONNRESET, never hangs. 2: the caller is killed
 * while the receiver serves it: the receiver replies without error and
 * then serves another caller.
 */
#include "rpal_test.h"

struct shm {
	struct ctx rctx, sctx[2];
	volatile uint64_t key;
	volatile uint32_t id, receiver_id;
	volatile uint32_t in_call, served;
	volatile int client_rc;
};

static void client(struct shm *m, int fd, int i, int expect)
{
	struct rpal_service_info info;
	struct rpal_request req = { .key = m->key };
	long r;

	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	rpal_register(fd, &m->sctx[i], 0);
	CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
	while ((r = rpal_call(fd, m->id, 0, 10000000000LL)) == -1 && errno == EAGAIN)
		usleep(1000);
	if (expect ? !(r == -1 && errno == expect) : r != 0)
		FAIL("client %d: call returned %ld (%s)", i, r, strerror(errno));
	_exit(0);
}

static pid_t start_server(struct shm *m, int fd, int reply_after_kill)
{
	pid_t pid = fork();
	struct rpal_service_info info;
	struct rpal_wait w;

	if (pid)
		return pid;
	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	m->receiver_id = rpal_register(fd, &m->rctx, 1);
	m->id = info.id;
	__atomic_store_n(&m->key, info.key, __ATOMIC_RELEASE);
	CHECK_OK(rpal_wait(fd, 10000000000LL, &w));
	m->in_call = 1;
	if (!reply_after_kill)
		pause();	/* killed here */
	while (m->in_call != 2)
		usleep(1000);
	/* The first caller is dead: replying must still work. */
	CHECK_OK(rpal_reply_wait(fd, 10000000000LL, &w));
	m->served = 1;
	CHECK_OK(rpal_reply_wait(fd, 200000000LL, &w) == -1 && errno == ETIMEDOUT ? 0 : -1);
	_exit(0);
}

int main(void)
{
	struct shm *m = shared_alloc(sizeof(*m));
	int fd = rpal_open();
	pid_t server, c0, c1;
	uint64_t t0;

	/* 1: receiver dies mid-call. */
	server = start_server(m, fd, 0);
	while (!__atomic_load_n(&m->key, __ATOMIC_ACQUIRE))
		usleep(1000);
	c0 = fork();
	if (c0 == 0)
		client(m, fd, 0, ECONNRESET);
	while (!m->in_call)
		usleep(1000);
	t0 = now_ns();
	kill(server, SIGKILL);
	CHECK(reap(server) == 128 + SIGKILL);
	CHECK(reap(c0) == 0);
	CHECK(now_ns() - t0 < 5000000000ULL);

	/* 2: caller dies mid-call. */
	memset(m, 0, sizeof(*m));
	server = start_server(m, fd, 1);
	while (!__atomic_load_n(&m->key, __ATOMIC_ACQUIRE))
		usleep(1000);
	c0 = fork();
	if (c0 == 0)
		client(m, fd, 0, 0);
	while (!m->in_call)
		usleep(1000);
	kill(c0, SIGKILL);
	CHECK(reap(c0) == 128 + SIGKILL);
	c1 = fork();
	if (c1 == 0)
		client(m, fd, 1, 0);
	m->in_call = 2;
	CHECK(reap(c1) == 0);
	CHECK(reap(server) == 0);
	CHECK(m->served == 1);
	return 0;
}
