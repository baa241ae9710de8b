/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the slot-sharing tests: processes that re-exec the test
 * (a static PIE, "// ktest: pie") into a slot of their own, a control
 * block they share through a memfd, and accesses that survive SIGSEGV.
 */
#ifndef RPAL_SHARE_H
#define RPAL_SHARE_H

#include "rpal_test.h"
#include <setjmp.h>
#include <sys/prctl.h>

/*
 * Fork a child that runs as @uid (unless -1) and re-executes @self in a
 * slot with arguments "@role @ctl_fd". Returns its pid.
 */
static inline pid_t spawn_in_slot(int rpal_fd, const char *self,
				  const char *role, int ctl_fd, int uid)
{
	char fdbuf[16];
	pid_t pid;

	snprintf(fdbuf, sizeof(fdbuf), "%d", ctl_fd);
	pid = fork();
	CHECK(pid >= 0);
	if (pid)
		return pid;
	if (uid >= 0 && (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)))
		_exit(T_FAIL);
	if (ioctl(rpal_fd, RPAL_IOC_EXEC_SLOT, RPAL_EXEC_SLOT))
		_exit(T_FAIL);
	execl(self, self, role, fdbuf, (char *)NULL);
	_exit(T_FAIL);
}

/* A memfd of @len bytes (inherited across exec) and its mapping. */
static inline void *ctl_create(size_t len, int *fd)
{
	void *p;

	*fd = memfd_create("rpal-share-ctl", 0);
	CHECK_OK(*fd);
	CHECK_OK(ftruncate(*fd, len));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	CHECK(p != MAP_FAILED);
	return p;
}

static inline void *ctl_attach(const char *fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       atoi(fd), 0);

	CHECK(p != MAP_FAILED);
	return p;
}

/*
 * In a child that spawn_in_slot() started: attach the control block, run
 * the role (@owner for "owner", else @importer) in its slot and exit. In
 * the test itself: SKIP on a kernel without the share ioctls.
 */
static inline void share_start(int rpal_fd, int argc, char **argv,
			       void **ctl, size_t len, void (*owner)(void),
			       void (*importer)(void))
{
	if (argc == 3) {
		*ctl = ctl_attach(argv[2], len);
		if (!ioctl(rpal_fd, RPAL_IOC_GET_SLOT))
			FAIL("%s runs without a slot", argv[1]);
		if (!strcmp(argv[1], "owner"))
			owner();
		else
			importer();
		exit(T_PASS);
	}
	/* A K2.1 kernel has no share ioctls. */
	if (ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, 1UL) == -1 &&
	    errno == ENOTTY) {
		printf("no RPAL_IOC_IMPORT_SLOT\n");
		exit(T_SKIP);
	}
}

/* Steps of a test's script: each side waits for its turn. */
static inline void step_wait(volatile int *step, int n)
{
	while (__atomic_load_n(step, __ATOMIC_ACQUIRE) < n)
		sched_yield();
}

static inline void step_set(volatile int *step, int n)
{
	__atomic_store_n(step, n, __ATOMIC_RELEASE);
}

static inline void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	CHECK_OK(sched_setaffinity(0, sizeof(set), &set));
}

/*
 * Loads and stores that report SIGSEGV/SIGBUS instead of dying of it:
 * SA_NODEFER and no saved mask keep a fault in a loop cheap.
 */
static sigjmp_buf fault_jmp;
static volatile int fault_sig;
static void *volatile fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_sig = sig;
	fault_addr = si->si_addr;
	siglongjmp(fault_jmp, 1);
}

static inline void catch_faults(void)
{
	struct sigaction sa = { 0 };

	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	CHECK_OK(sigaction(SIGSEGV, &sa, NULL));
	CHECK_OK(sigaction(SIGBUS, &sa, NULL));
}

/* 0 and *@v = *@p, or the signal the load raised. */
static inline int try_read(volatile uint64_t *p, uint64_t *v)
{
	fault_sig = 0;
	if (sigsetjmp(fault_jmp, 0))
		return fault_sig;
	*v = *p;
	return 0;
}

static inline int try_write(volatile uint64_t *p, uint64_t v)
{
	fault_sig = 0;
	if (sigsetjmp(fault_jmp, 0))
		return fault_sig;
	*p = v;
	return 0;
}

/* Enable the calling process as a service; its key. */
static inline uint64_t rpal_enable_key(int fd)
{
	struct rpal_service_info info;

	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	return info.key;
}

/* Request the service whose key will appear in *@key; its id. */
static inline uint32_t rpal_request_key(int fd, volatile uint64_t *key)
{
	struct rpal_request req = { 0 };

	while (!__atomic_load_n(key, __ATOMIC_ACQUIRE))
		sched_yield();
	req.key = *key;
	CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
	return req.id;
}

/* Share the caller's slot with @id, once @id has requested it too. */
static inline void share_when_requested(int fd, uint32_t id)
{
	while (ioctl(fd, RPAL_IOC_SHARE_SLOT, (unsigned long)id)) {
		if (errno != EPERM)
			FAIL("share: %s", strerror(errno));
		sched_yield();
	}
}

/* Run roles "owner" and "importer" of @self, in slots, to their end. */
static inline void run_pair(int rpal_fd, const char *self, int ctl_fd)
{
	pid_t a = spawn_in_slot(rpal_fd, self, "owner", ctl_fd, -1);
	pid_t b = spawn_in_slot(rpal_fd, self, "importer", ctl_fd, -1);
	int sa = reap(a), sb = reap(b);

	if (sa || sb)
		FAIL("owner status %d, importer status %d", sa, sb);
}

#endif
