/* SPDX-License-Identifier: MIT */
/* Helpers for the /dev/rpal tests: exit 0 pass, 1 fail, 77 skip. */
#ifndef RPAL_TEST_H
#define RPAL_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/rpal.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

#define FAIL(...) do { \
	fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(T_FAIL); \
} while (0)
#define CHECK(c) do { if (!(c)) FAIL("%s", #c); } while (0)
/* ioctl must fail with errno e. */
#define CHECK_ERR(call, e) do { \
	long r_ = (call); int e_ = errno; \
	if (r_ != -1 || e_ != (e)) \
		FAIL("%s: got %ld errno %d (%s), want %s", #call, r_, \
		     r_ == -1 ? e_ : 0, r_ == -1 ? strerror(e_) : "-", #e); \
} while (0)
#define CHECK_OK(call) do { \
	long r_ = (call); \
	if (r_ < 0) FAIL("%s: %s", #call, strerror(errno)); \
} while (0)

/* A call context: the state word, then room for call metadata. */
struct ctx {
	_Alignas(RPAL_CTX_ALIGN) volatile uint32_t word;
	uint32_t pad[15];
};

static inline int rpal_open(void)
{
	int fd = open("/dev/rpal", O_RDWR | O_CLOEXEC);
	long v;

	if (fd < 0) {
		printf("no /dev/rpal (%s)\n", strerror(errno));
		exit(T_SKIP);
	}
	v = ioctl(fd, RPAL_IOC_GET_API_VERSION);
	if (v != RPAL_API_VERSION) {
		printf("RPAL API version %ld, want %d\n", v, RPAL_API_VERSION);
		exit(T_SKIP);
	}
	return fd;
}

/* Shared anonymous memory, visible to forked children. */
static inline void *shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		FAIL("mmap: %s", strerror(errno));
	memset(p, 0, len);
	return p;
}

static inline uint32_t st(uint32_t w) { return w & RPAL_STATE_MASK; }
static inline uint32_t sid(uint32_t w) { return w >> RPAL_SERVICE_ID_SHIFT; }
static inline uint32_t snd(uint32_t w)
{
	return (w & RPAL_SENDER_ID_MASK) >> RPAL_SENDER_ID_SHIFT;
}

/* The state letter of /proc/<pid>/task/<tid>/stat (R, S, D, T, ...). */
static inline char task_state_of(pid_t pid, pid_t tid)
{
	char path[80], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		FAIL("read %s", path);
	fclose(f);
	p = strrchr(buf, ')');
	return p ? p[2] : '?';
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static inline long rpal_wait(int fd, int64_t timeout_ns, struct rpal_wait *w)
{
	w->timeout_ns = timeout_ns;
	return ioctl(fd, RPAL_IOC_WAIT, w);
}

static inline long rpal_reply_wait(int fd, int64_t timeout_ns,
				   struct rpal_wait *w)
{
	w->timeout_ns = timeout_ns;
	return ioctl(fd, RPAL_IOC_REPLY_WAIT, w);
}

static inline long rpal_call(int fd, uint32_t service, uint32_t receiver,
			     int64_t timeout_ns)
{
	struct rpal_call c = { service, receiver, timeout_ns };

	return ioctl(fd, RPAL_IOC_CALL, &c);
}

/* Enable, then register the calling thread; returns the thread id. */
static inline uint32_t rpal_register(int fd, struct ctx *ctx, int receiver)
{
	struct rpal_register r = { .ctx = (uintptr_t)ctx };

	CHECK_OK(ioctl(fd, receiver ? RPAL_IOC_REGISTER_RECEIVER :
			      RPAL_IOC_REGISTER_SENDER, &r));
	CHECK(r.id != 0);
	return r.id;
}

/*
 * The caller's side of a test pair: once the service has published its
 * key in *@key, enable, register this thread as a sender on @ctx and
 * request the service. Returns the service's id.
 */
static inline uint32_t rpal_connect(int fd, volatile uint64_t *key,
				    struct ctx *ctx)
{
	struct rpal_service_info info;
	struct rpal_request req = { 0 };

	while (!__atomic_load_n(key, __ATOMIC_ACQUIRE))
		usleep(1000);
	req.key = *key;
	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	rpal_register(fd, ctx, 0);
	CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
	return req.id;
}

/* Wait for a child; returns its exit status or 128 + signal. */
static inline int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		FAIL("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) :
				   128 + WTERMSIG(status);
}

#endif
