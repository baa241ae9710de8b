// SPDX-License-Identifier: MIT
/*
 * The wakeup rules. A waiting receiver woken by a signal whose handler
 * lacks SA_RESTART becomes RUNNING (EINTR); with SA_RESTART its wait
 * restarts. The kernel decides from its own state, not the state word:
 * a receiver whose word user space set to WAIT while it sleeps elsewhere
 * cannot be called. Then calls race a signal storm on the receiver: every
 * call completes, no wakeup is lost.
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
static volatile int stop, read_done, handled;
static int pipefd[2];

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void on_signal(int flags)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = flags };

	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
}

static char task_state(pid_t tid)
{
	return task_state_of(getpid(), tid);
}

static void *receiver(void *arg)
{
	struct rpal_wait w;
	char c;
	long r;

	(void)arg;
	receiver_id = rpal_register(fd, &rctx, 1);
	rtid = syscall(SYS_gettid);
	/* Phase 0: one wait, interrupted by a signal. */
	r = rpal_wait(fd, 10000000000LL, &w);
	wait_errno = errno;
	__atomic_store_n(&wait_ret, r, __ATOMIC_RELEASE);
	while (phase == 0)
		usleep(1000);
	/* Phase 1: asleep outside RPAL, in a pipe read. */
	if (read(pipefd[0], &c, 1) != 1)
		FAIL("read: %s", strerror(errno));
	__atomic_store_n(&read_done, 1, __ATOMIC_RELEASE);
	while (phase == 1)
		usleep(1000);
	/* Phase 2: a signal restarts the wait, a call ends it. Report
	 * only after the reply, so that no later call races the
	 * reply-wait that must time out. */
	r = rpal_wait(fd, 10000000000LL, &w);
	wait_errno = errno;
	if (r == 0 && rpal_reply_wait(fd, 0, &w) != -1)
		FAIL("reply_wait did not time out");
	__atomic_store_n(&wait_ret, r, __ATOMIC_RELEASE);
	while (phase == 2)
		usleep(1000);
	/* Phase 3: serve calls until told to stop. The signal storm may
	 * already be under way, so a first wait can be interrupted too. */
	while (rpal_wait(fd, 10000000000LL, &w))
		if (errno != EINTR)
			FAIL("wait: %s", strerror(errno));
	while (!stop) {
		r = rpal_reply_wait(fd, 10000000000LL, &w);

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
	CHECK_OK(pipe(pipefd));
	on_signal(0);
	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	service_id = info.id;
	req.key = info.key;
	req.reserved = 0;
	CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
	pthread_create(&r, NULL, receiver, NULL);

	/* 0: a signal without SA_RESTART ends a wait: EINTR, RUNNING. */
	while (!rtid || st(rctx.word) != RPAL_RECEIVER_WAIT || task_state(rtid) != 'S')
		usleep(1000);
	wait_ret = 1;
	syscall(SYS_tgkill, getpid(), rtid, SIGUSR1);
	while (__atomic_load_n(&wait_ret, __ATOMIC_ACQUIRE) == 1)
		usleep(1000);
	CHECK(wait_ret == -1 && wait_errno == EINTR);
	CHECK(st(rctx.word) == RPAL_RECEIVER_RUNNING);

	/* 1: a forged WAIT word does not make a receiver callable. */
	phase = 1;
	while (task_state(rtid) != 'S')
		usleep(1000);
	rctx.word = RPAL_RECEIVER_WAIT;
	rpal_register(fd, &sctx2, 0);
	CHECK_ERR(rpal_call(fd, service_id, receiver_id, 1000000000LL), EAGAIN);
	CHECK_ERR(rpal_call(fd, service_id, 0, 1000000000LL), EAGAIN);
	CHECK(!read_done && task_state(rtid) == 'S');
	CHECK(write(pipefd[1], "x", 1) == 1);
	while (!__atomic_load_n(&read_done, __ATOMIC_ACQUIRE))
		usleep(1000);

	/* 2: with SA_RESTART the wait restarts; a call then ends it. */
	on_signal(SA_RESTART);
	wait_ret = 1;
	phase = 2;
	while (st(rctx.word) != RPAL_RECEIVER_WAIT || task_state(rtid) != 'S')
		usleep(1000);
	syscall(SYS_tgkill, getpid(), rtid, SIGUSR1);
	while (!handled)
		usleep(1000);
	while (st(rctx.word) != RPAL_RECEIVER_WAIT || task_state(rtid) != 'S')
		usleep(1000);
	CHECK(wait_ret == 1);
	CHECK_OK(rpal_call(fd, service_id, receiver_id, 5000000000LL));
	while (__atomic_load_n(&wait_ret, __ATOMIC_ACQUIRE) == 1)
		usleep(1000);
	CHECK(wait_ret == 0);
	CHECK_OK(ioctl(fd, RPAL_IOC_UNREGISTER));

	/* 3: calls race signals. */
	phase = 3;
	pthread_create(&s, NULL, sender, NULL);
	while (!stop) {
		syscall(SYS_tgkill, getpid(), rtid, SIGUSR1);
		signals++;
		usleep(200);
	}
	pthread_join(s, NULL);
	/* Release the receiver, possibly in WAIT, with a final signal. */
	on_signal(0);
	for (int i = 0; i < 100 && pthread_tryjoin_np(r, NULL); i++) {
		syscall(SYS_tgkill, getpid(), rtid, SIGUSR1);
		usleep(10000);
	}
	printf("%d signals\n", signals);
	return 0;
}
