// SPDX-License-Identifier: MIT
/*
 * The try_to_wake_up rules. A waiting receiver woken by a signal becomes
 * RUNNING (EINTR). A receiver whose word says CALL is not woken by a
 * signal, only by the RPAL call. Then calls race a signal storm
 * on the receiver: every call completes, no wakeup is lost.
 */
#include <pthread.h>
#include <sys/syscall.h>
#include "rpal_test.h"

static int fd;
static struct ctx rctx, sctx, sctx2;
static volatile pid_t rtid;
static volatile int phase;
static volatile long wait_ret, wait_errno;
static volatile uint32_t service_id, receiver_id;
static volatile int stop;

static void on_usr1(int sig) { (void)sig; }

static char task_state(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		FAIL("read %s", path);
	fclose(f);
	p = strrchr(buf, ')');
	return p ? p[2] : '?';
}

static void *receiver(void *arg)
{
	struct rpal_wait w;

	(void)arg;
	receiver_id = rpal_register(fd, &rctx, 1);
	rtid = syscall(SYS_gettid);
	/* Phase 1 and 2: one wait each, interrupted by a signal. */
	for (int i = 0; i < 2; i++) {
		long r = rpal_wait(fd, 10000000000LL, &w);

		wait_errno = errno;
		__atomic_store_n(&wait_ret, r, __ATOMIC_RELEASE);
		/* Phase 2 ends with a call: reply to it. */
		if (r == 0 && rpal_reply_wait(fd, 0, &w) != -1)
			FAIL("reply_wait did not time out");
		while (phase == i)
			usleep(1000);
	}
	/* Phase 3: serve calls until told to stop. The signal storm may
	 * already be under way, so a first wait can be interrupted too. */
	while (rpal_wait(fd, 10000000000LL, &w))
		if (errno != EINTR)
			FAIL("wait: %s", strerror(errno));
	while (!stop) {
		long r = rpal_reply_wait(fd, 10000000000LL, &w);

		if (r && errno != EINTR)
			FAIL("reply_wait: %s", strerror(errno));
		if (r) {
			/* Signal won: the reply went out, wait again. */
			if (rpal_wait(fd, 10000000000LL, &w) && errno != EINTR)
				FAIL("wait: %s", strerror(errno));
			if (st(rctx.word) != RPAL_RECEIVER_KERNEL_RET)
				continue;
		}
	}
	return NULL;
}

static void *sender(void *arg)
{
	long n = 0;

	(void)arg;
	rpal_register(fd, &sctx, 0);
	while (n < 3000) {
		long r = rpal_call(fd, service_id, 0, 10000000000LL);

		if (r == 0)
			n++;
		else if (errno != EAGAIN)
			FAIL("call %ld: %s", n, strerror(errno));
	}
	printf("%ld calls under a signal storm\n", n);
	stop = 1;
	return NULL;
}

int main(void)
{
	struct rpal_service_info info;
	struct rpal_request req;
	pthread_t r, s;
	int signals = 0;

	fd = rpal_open();
	signal(SIGUSR1, on_usr1);
	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	service_id = info.id;
	req.key = info.key;
	req.reserved = 0;
	CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
	pthread_create(&r, NULL, receiver, NULL);

	/* 1: a signal wakes a WAIT receiver: EINTR, RUNNING. */
	while (!rtid || st(rctx.word) != RPAL_RECEIVER_WAIT || task_state(rtid) != 'S')
		usleep(1000);
	wait_ret = 1;
	syscall(SYS_tgkill, getpid(), rtid, SIGUSR1);
	while (__atomic_load_n(&wait_ret, __ATOMIC_ACQUIRE) == 1)
		usleep(1000);
	CHECK(wait_ret == -1 && wait_errno == EINTR);
	CHECK(st(rctx.word) == RPAL_RECEIVER_RUNNING);

	/* 2: CALL vetoes the wakeup until the word leaves CALL. */
	wait_ret = 1;
	phase = 1;
	while (st(rctx.word) != RPAL_RECEIVER_WAIT || task_state(rtid) != 'S')
		usleep(1000);
	CHECK(__sync_bool_compare_and_swap(&rctx.word, RPAL_RECEIVER_WAIT,
					   RPAL_RECEIVER_CALL));
	syscall(SYS_tgkill, getpid(), rtid, SIGUSR1);
	usleep(200000);
	CHECK(wait_ret == 1);
	CHECK(task_state(rtid) == 'S');
	/*
	 * The vetoed signal stays pending, and a pending signal wakes
	 * nobody again: only the RPAL call wakes the receiver now.
	 */
	rctx.word = RPAL_RECEIVER_WAIT;
	rpal_register(fd, &sctx2, 0);
	CHECK_OK(rpal_call(fd, service_id, receiver_id, 5000000000LL));
	CHECK(wait_ret == 0);
	CHECK_OK(ioctl(fd, RPAL_IOC_UNREGISTER));

	/* 3: calls race signals. */
	phase = 2;
	pthread_create(&s, NULL, sender, NULL);
	while (!stop) {
		syscall(SYS_tgkill, getpid(), rtid, SIGUSR1);
		signals++;
		usleep(200);
	}
	pthread_join(s, NULL);
	/* Release the receiver, possibly in WAIT, with a final signal. */
	for (int i = 0; i < 100 && pthread_tryjoin_np(r, NULL); i++) {
		syscall(SYS_tgkill, getpid(), rtid, SIGUSR1);
		usleep(10000);
	}
	printf("%d signals\n", signals);
	return 0;
}
