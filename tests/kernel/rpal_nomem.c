// SPDX-License-Identifier: MIT
/*
 * Out of memory (CONFIG_FAILSLAB; the debug kernel has it, other kernels
 * SKIP). The enable, request and register ioctls run first with every
 * slab allocation of the calling task failing (failslab's task filter,
 * make-it-fail), then with their first, second, ... allocation failing
 * alone (fail-nth), until one runs without a failure. Each run that
 * fails must fail with ENOMEM, not EEXIST, ENOSPC or EFAULT (a request
 * whose xa_insert() could not allocate used to say EEXIST), and must
 * leave nothing behind: the same ioctl then succeeds. A single failure
 * may also be got over (the xarray retries a failed GFP_NOWAIT allocation
 * with GFP_KERNEL outside its lock). Each attempt runs in a new process.
 */
// ktest: timeout=120
#include <sys/mount.h>
#include "rpal_test.h"

#define MAX_NTH 64
#define FAILSLAB "/sys/kernel/debug/failslab"

enum op { OP_ENABLE, OP_REQUEST, OP_RECEIVER, OP_SENDER, NOPS };
static const char *const op_name[NOPS] = {
	"enable", "request", "register receiver", "register sender",
};

struct shm {
	struct ctx ctx;
	volatile uint64_t key;
};

static struct shm *m;

static void put_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		FAIL("write %s to %s: %s", val, path, strerror(errno));
	close(fd);
}

static long do_op(int fd, enum op op, struct rpal_service_info *info)
{
	struct rpal_request req = { .key = m->key };
	struct rpal_register reg = { .ctx = (uintptr_t)&m->ctx };

	switch (op) {
	case OP_ENABLE:
		return ioctl(fd, RPAL_IOC_ENABLE, info);
	case OP_REQUEST:
		return ioctl(fd, RPAL_IOC_REQUEST, &req);
	case OP_RECEIVER:
		return ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &reg);
	default:
		return ioctl(fd, RPAL_IOC_REGISTER_SENDER, &reg);
	}
}

/*
 * A page fault of user code that cannot allocate (its page table's lock,
 * an anon_vma) retries forever, so touch first what the armed part of
 * attempt() touches: the shared page, the stack, errno.
 */
static void prefault(void)
{
	volatile char stack[16384];

	for (size_t i = 0; i < sizeof(stack); i += 1024)
		stack[i] = 0;
	m->ctx.word = (uint32_t)m->key;
	errno = 0;
}

/*
 * In a new process: fail the @nth allocation of @op, or every one from
 * the first on if @nth is 0. Exits 0 if @op made fewer allocations and
 * succeeded, 2 if it failed cleanly with ENOMEM, 3 if it got over the
 * failure and succeeded.
 */
static void attempt(enum op op, int nth)
{
	struct rpal_service_info info;
	int fd = rpal_open(), nfd, e;
	const char *knob = nth ? "fail-nth" : "make-it-fail";
	char buf[16], path[64];
	ssize_t len;
	long r;

	if (op != OP_ENABLE)
		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	snprintf(path, sizeof(path), "/proc/thread-self/%s", knob);
	nfd = open(path, O_RDWR);
	CHECK(nfd >= 0);
	len = snprintf(buf, sizeof(buf), "%d", nth ? nth : 1);
	prefault();
	CHECK(write(nfd, buf, len) == len);
	r = do_op(fd, op, &info);
	e = errno;
	len = pread(nfd, buf, sizeof(buf) - 1, 0);
	CHECK(len > 0);
	buf[len] = 0;
	CHECK(write(nfd, "0", 1) == 1);
	/* fail-nth reads 0 once the nth allocation failed. */
	if (nth && atoi(buf) != 0) {
		if (r)
			FAIL("%s without an injected failure: %s", op_name[op],
			     strerror(e));
		exit(0);
	}
	if (r == 0 && nth)
		exit(3);
	if (r != -1 || e != ENOMEM)
		FAIL("%s, allocation %d failing: got %ld (%s), want ENOMEM",
		     op_name[op], nth, r, strerror(e));
	/* Nothing happened: the same ioctl works now. */
	if (do_op(fd, op, &info))
		FAIL("%s after a failed one: %s", op_name[op], strerror(errno));
	exit(2);
}

int main(void)
{
	struct rpal_service_info info;
	int fd = rpal_open(), hold[2];
	pid_t server;
	char c;

	if (access(FAILSLAB, F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (access(FAILSLAB, F_OK) || access("/proc/thread-self/fail-nth", F_OK)) {
		printf("no failslab or fail-nth (CONFIG_FAILSLAB, debug kernel)\n");
		return T_SKIP;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/*
	 * Fail GFP_KERNEL allocations too, quietly; with make-it-fail, all
	 * of them in the tasks that ask (and fail-nth takes precedence).
	 */
	put_file(FAILSLAB "/ignore-gfp-wait", "N");
	put_file(FAILSLAB "/verbose", "0");
	put_file(FAILSLAB "/task-filter", "Y");
	put_file(FAILSLAB "/times", "-1");
	put_file(FAILSLAB "/interval", "1");
	put_file(FAILSLAB "/probability", "100");

	m = shared_alloc(sizeof(*m));
	CHECK_OK(pipe(hold));
	server = fork();
	CHECK(server >= 0);
	if (server == 0) {
		close(hold[1]);
		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		__atomic_store_n(&m->key, info.key, __ATOMIC_RELEASE);
		if (read(hold[0], &c, 1) < 0)
			exit(T_FAIL);
		exit(0);
	}
	close(hold[0]);
	while (!__atomic_load_n(&m->key, __ATOMIC_ACQUIRE))
		usleep(1000);

	for (enum op op = 0; op < NOPS; op++) {
		int nth, st = 2, nomem = 0;
		pid_t pid = fork();

		CHECK(pid >= 0);
		if (pid == 0)
			attempt(op, 0);
		if (reap(pid) != 2)
			FAIL("%s: with no memory at all: see above", op_name[op]);

		for (nth = 1; nth <= MAX_NTH && st != 0; nth++) {
			pid = fork();
			CHECK(pid >= 0);
			if (pid == 0)
				attempt(op, nth);
			st = reap(pid);
			if (st < 0 || st > 3 || st == 1)
				FAIL("%s: attempt %d failed (%d)", op_name[op],
				     nth, st);
			nomem += st == 2;
		}
		if (st != 0)
			FAIL("%s: still failing after %d allocations",
			     op_name[op], MAX_NTH);
		printf("%s: ENOMEM without memory; %d allocation(s), %d of them\n"
		       "  failing alone failed it, with ENOMEM\n",
		       op_name[op], nth - 2, nomem);
	}
	put_file(FAILSLAB "/probability", "0");
	put_file(FAILSLAB "/ignore-gfp-wait", "Y");
	close(hold[1]);
	CHECK(reap(server) == 0);
	return 0;
}
