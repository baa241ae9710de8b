// SPDX-License-Identifier: MIT
/*
 * Where an RPAL call wakes its receiver. WF_CURRENT_CPU (patch 1) asks
 * for the caller's CPU in the fair class only: a SCHED_FIFO receiver
 * that sleeps on CPU 1 stays where the RT class puts it, on CPU 1, its
 * previous CPU, which runs no RT task, for every call from a caller
 * pinned to CPU 0. A SCHED_OTHER receiver is woken on CPU 0; the idle
 * CPU 1 may pull it back before it runs (the caller is still on CPU 0
 * until it sleeps), so only some of its calls need to show CPU 0. Before
 * each call the receiver moves back to CPU 1 (free to run on both) and
 * the caller waits until it sleeps there, dequeued (its wchan is set).
 */
// ktest: timeout=60
#include "rpal_test.h"

#define N 20

struct shm {
	struct ctx rctx, sctx;
	volatile uint64_t key;
	volatile uint32_t id;
	volatile int cpu[N];
};

static void set_cpus(int a, int b)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(a, &s);
	if (b >= 0)
		CPU_SET(b, &s);
	CHECK_OK(sched_setaffinity(0, sizeof(s), &s));
}

static void serve(struct shm *m, int fd, int policy)
{
	struct sched_param sp = { .sched_priority = policy == SCHED_FIFO };
	struct rpal_service_info info;
	struct rpal_wait w;

	set_cpus(1, -1);
	CHECK_OK(sched_setscheduler(0, policy, &sp));
	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	rpal_register(fd, &m->rctx, 1);
	m->id = info.id;
	__atomic_store_n(&m->key, info.key, __ATOMIC_RELEASE);
	for (int i = 0; i < N; i++) {
		/* Asleep on CPU 1 next, free to be woken anywhere. */
		set_cpus(1, -1);
		set_cpus(0, 1);
		if (i == 0)
			CHECK_OK(rpal_wait(fd, 5000000000LL, &w));
		else
			CHECK_OK(rpal_reply_wait(fd, 5000000000LL, &w));
		m->cpu[i] = sched_getcpu();
	}
	CHECK_ERR(rpal_reply_wait(fd, 0, &w), ETIMEDOUT);
}

/* Asleep and off its run queue: the wakeup will choose a CPU. */
static int dequeued(pid_t pid)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	f = fopen(path, "r");
	if (!f)
		FAIL("open %s: %s", path, strerror(errno));
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] && strcmp(buf, "0") != 0;
}

static void run(int policy, int want, const char *what)
{
	struct shm *m = shared_alloc(sizeof(*m));
	int fd = rpal_open();
	int on[2] = { 0, 0 };
	pid_t server = fork();

	CHECK(server >= 0);
	if (server == 0) {
		serve(m, fd, policy);
		_exit(0);
	}
	set_cpus(0, -1);
	CHECK(rpal_connect(fd, &m->key, &m->sctx) == m->id);
	for (int i = 0; i < N; i++) {
		while (st(m->rctx.word) != RPAL_RECEIVER_WAIT ||
		       !dequeued(server))
			sched_yield();
		CHECK_OK(rpal_call(fd, m->id, 0, 5000000000LL));
	}
	CHECK(reap(server) == 0);
	for (int i = 0; i < N; i++)
		on[m->cpu[i] == want] += 1;
	printf("%s receiver: %d of %d calls on CPU %d\n", what, on[1], N, want);
	if (policy == SCHED_FIFO ? on[0] != 0 : on[1] == 0)
		FAIL("%s receiver: %d calls elsewhere than CPU %d", what, on[0],
		     want);
	close(fd);
	munmap(m, sizeof(*m));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	close(rpal_open());
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("needs 2 CPUs\n");
		return T_SKIP;
	}
	/* Each in a process of its own: a process is one service. */
	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();

		CHECK(pid >= 0);
		if (pid == 0) {
			if (i == 0)
				run(SCHED_OTHER, 0, "SCHED_OTHER");
			else
				run(SCHED_FIFO, 1, "SCHED_FIFO");
			_exit(0);
		}
		CHECK(reap(pid) == 0);
	}
	return 0;
}
