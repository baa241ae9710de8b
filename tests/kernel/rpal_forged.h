/* SPDX-License-Identifier: MIT */
/*
 * A receiver whose state word user space forged to CALL, blocked on a
 * contended kernel lock: the wakeup that hands it the lock must reach it.
 * A child registers its main thread as a receiver, forges the word, starts
 * contender threads and runs the blocking operation in a loop. The parent
 * waits until the receiver has slept (voluntary context switches) often
 * enough to have been woken from the lock, then kills the child with
 * SIGKILL, which must end it.
 */
#ifndef RPAL_FORGED_H
#define RPAL_FORGED_H

#include <pthread.h>
#include "rpal_test.h"

#define FORGED_SLEEPS 20

struct forged_ops {
	void (*setup)(void);
	void *(*contend)(void *arg);
	int contenders;
	void (*op)(void);
};

static long voluntary_switches(pid_t pid)
{
	char path[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int forged_run(const struct forged_ops *ops)
{
	volatile long *iters = shared_alloc(4096);
	static struct ctx rctx;
	long base, n;
	pid_t pid;

	/* Skip here, not in the child the parent waits for. */
	close(rpal_open());
	ops->setup();
	pid = fork();
	if (pid == 0) {
		struct rpal_service_info info;
		int fd = rpal_open();
		pthread_t t;

		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		rpal_register(fd, &rctx, 1);
		/* Forged: no sender claimed this receiver. */
		rctx.word = info.id << RPAL_SERVICE_ID_SHIFT |
			    1 << RPAL_SENDER_ID_SHIFT | RPAL_RECEIVER_CALL;
		for (int i = 0; i < ops->contenders; i++)
			CHECK(pthread_create(&t, NULL, ops->contend, NULL) == 0);
		for (;;) {
			ops->op();
			(*iters)++;
		}
	}
	CHECK(pid > 0);
	while (*iters == 0)
		usleep(1000);
	base = voluntary_switches(pid);
	CHECK(base >= 0);
	/* Every sleep of the loop is on the contended lock. */
	while ((n = voluntary_switches(pid)) >= 0 && n < base + FORGED_SLEEPS)
		usleep(1000);
	printf("receiver slept %ld times, %ld operations\n", n - base, *iters);
	CHECK_OK(kill(pid, SIGKILL));
	CHECK(reap(pid) == 128 + SIGKILL);
	return T_PASS;
}

#endif
