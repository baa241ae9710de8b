/* SPDX-License-Identifier: MIT */
/*
 * Two processes for the stop and freeze tests: R serves with two receiver
 * threads, C calls them on command. Receiver 1 stays in RPAL_IOC_WAIT;
 * receiver 2 takes a call and holds it until the parent writes to a pipe,
 * which leaves C blocked in RPAL_IOC_CALL. Everything they report lives in
 * shared memory, so the parent can check the state words and the results.
 */
#ifndef RPAL_PAIR_H
#define RPAL_PAIR_H

#include <pthread.h>
#include <sys/syscall.h>
#include "rpal_test.h"

struct pair {
	struct ctx rctx[2], cctx;
	uint64_t key;
	uint32_t service, receiver[2];
	pid_t rtid[2];
	volatile int ready;
	/* Receiver waits or reply-waits that failed, and the last errno. */
	volatile int errors, last_errno;
	volatile int served[2];
	/* C: calls asked for, calls done, target receiver, last result. */
	volatile int asked, done, target, result;
	int hold[2];
	pid_t r, c;
};

static struct pair *pair;
static int pair_fd;

static void *pair_receiver(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct rpal_wait w;
	long r;
	char c;

	pair->receiver[i] = rpal_register(pair_fd, &pair->rctx[i], 1);
	pair->rtid[i] = syscall(SYS_gettid);
	__atomic_add_fetch(&pair->ready, 1, __ATOMIC_RELEASE);
	r = rpal_wait(pair_fd, -1, &w);
	for (;;) {
		if (r) {
			pair->last_errno = errno;
			__atomic_add_fetch(&pair->errors, 1, __ATOMIC_RELEASE);
			r = rpal_wait(pair_fd, -1, &w);
			continue;
		}
		pair->served[i]++;
		if (i == 1 && read(pair->hold[0], &c, 1) != 1)
			FAIL("hold pipe");
		r = rpal_reply_wait(pair_fd, -1, &w);
	}
	return NULL;
}

static void pair_serve(void)
{
	struct rpal_service_info info;
	pthread_t t;

	pair_fd = rpal_open();
	CHECK_OK(ioctl(pair_fd, RPAL_IOC_ENABLE, &info));
	pair->key = info.key;
	pair->service = info.id;
	for (intptr_t i = 0; i < 2; i++)
		CHECK(pthread_create(&t, NULL, pair_receiver, (void *)i) == 0);
	for (;;)
		pause();
}

static void pair_call(void)
{
	struct rpal_service_info info;
	struct rpal_request req = { .key = pair->key };
	int n = 0;

	pair_fd = rpal_open();
	CHECK_OK(ioctl(pair_fd, RPAL_IOC_ENABLE, &info));
	CHECK_OK(ioctl(pair_fd, RPAL_IOC_REQUEST, &req));
	rpal_register(pair_fd, &pair->cctx, 0);
	__atomic_add_fetch(&pair->ready, 1, __ATOMIC_RELEASE);
	for (;;) {
		while (__atomic_load_n(&pair->asked, __ATOMIC_ACQUIRE) == n)
			usleep(1000);
		pair->result = rpal_call(pair_fd, pair->service,
					 pair->receiver[pair->target], -1) ?
			       errno : 0;
		__atomic_store_n(&pair->done, ++n, __ATOMIC_RELEASE);
	}
}

static void pair_start(void)
{
	pid_t pid;
	int p[2];

	pair = shared_alloc(sizeof(*pair));
	CHECK_OK(pipe(p));
	pair->hold[0] = p[0];
	pair->hold[1] = p[1];
	/* The child must not store its 0 into the shared pids. */
	pid = fork();
	if (pid == 0)
		pair_serve();
	pair->r = pid;
	while (__atomic_load_n(&pair->ready, __ATOMIC_ACQUIRE) < 2)
		usleep(1000);
	pid = fork();
	if (pid == 0)
		pair_call();
	pair->c = pid;
	while (__atomic_load_n(&pair->ready, __ATOMIC_ACQUIRE) < 3)
		usleep(1000);
}

/* Receiver i asleep in RPAL_IOC_WAIT. */
static void pair_wait_idle(int i)
{
	while (st(pair->rctx[i].word) != RPAL_RECEIVER_WAIT ||
	       task_state_of(pair->r, pair->rtid[i]) != 'S')
		usleep(1000);
}

/* C calls receiver 1, which holds the call: C asleep in RPAL_IOC_CALL. */
static void pair_block_caller(void)
{
	pair_wait_idle(1);
	pair->target = 1;
	__atomic_add_fetch(&pair->asked, 1, __ATOMIC_RELEASE);
	while (st(pair->cctx.word) != RPAL_SENDER_CALL ||
	       st(pair->rctx[1].word) != RPAL_RECEIVER_KERNEL_RET ||
	       task_state_of(pair->c, pair->c) != 'S')
		usleep(1000);
}

/* Let receiver 1 reply; C's call must complete with success. */
static void pair_release_caller(void)
{
	int n = pair->asked;

	CHECK(write(pair->hold[1], "x", 1) == 1);
	while (__atomic_load_n(&pair->done, __ATOMIC_ACQUIRE) != n)
		usleep(1000);
	CHECK(pair->result == 0);
}

/* A call to receiver 0, which must still be waiting. */
static void pair_call_idle(void)
{
	int n;

	pair_wait_idle(0);
	pair->target = 0;
	n = __atomic_add_fetch(&pair->asked, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&pair->done, __ATOMIC_ACQUIRE) != n)
		usleep(1000);
	CHECK(pair->result == 0);
}

static void pair_end(void)
{
	if (pair->errors)
		FAIL("a receiver wait failed %d times, last: %s", pair->errors,
		     strerror(pair->last_errno));
	kill(pair->r, SIGKILL);
	kill(pair->c, SIGKILL);
	CHECK(reap(pair->r) == 128 + SIGKILL);
	CHECK(reap(pair->c) == 128 + SIGKILL);
}

#endif
