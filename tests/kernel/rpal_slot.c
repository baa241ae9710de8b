// SPDX-License-Identifier: MIT
// ktest: early timeout=300
/*
 * RPAL slots (patches 5 and 6), through guest/slot_probe:
 *
 * - lazyrpc-exec runs the dynamic probe in a slot, where its program,
 *   ld.so, libc, vDSO, stacks, heap, mmap, shmat and a dlopen()ed library
 *   land and nothing it tries maps outside; the static PIE probe alike;
 * - without the mark, or with it taken away again, or in a fork child of
 *   a marked thread, an exec gets the default layout, above the slots;
 * - the mark survives a failed execve() and is used by the next one;
 * - a non-PIE (ET_EXEC) program fails the marked execve() with EINVAL
 *   and leaves the caller running; the launcher says so, exit 126;
 * - bad arguments to RPAL_IOC_EXEC_SLOT are EINVAL;
 * - one uid holds at most RPAL_SLOTS_PER_USER slots (EDQUOT), all of them
 *   RPAL_NR_SLOTS (ENOSPC), all distinct, and they come back when their
 *   processes exit.
 *
 * "early": each slotted exec turns the slot key on (patch 5), so these
 * run before guest-init's keeper, on an otherwise idle guest, like
 * rpal_key (see tests/kernel/guest-init).
 */
#include "rpal_test.h"

#define PROBE "/tests/slot_probe"
#define PROBE_STATIC "/tests/slot_probe_static"
#define LAUNCHER "/tests/lazyrpc-exec"
#define ET_EXEC_PROGRAM "/tests/rpal_keeper"	/* built -static: not PIE */

static int rpal_fd;

struct holder {
	pid_t pid;
	int in;		/* its stdin: closing it ends the holder */
	int slot;	/* what a "hold" probe printed */
};

/*
 * Fork a child that takes uid @uid (unless -1), marks itself when @mark,
 * and execs @argv with pipes as stdin and stdout. Returns 0 once the exec
 * went through (a "hold" probe has then told @h its slot; the caller
 * reaps it), or the execve()'s errno (the child is reaped).
 */
static int spawn(int uid, int mark, char *const argv[], struct holder *h)
{
	int errp[2], inp[2], outp[2], err = 0, hold = 0, i;
	char buf[16] = "";
	ssize_t n;

	for (i = 0; argv[i]; i++)
		hold = !strcmp(argv[i], "hold");
	/* O_CLOEXEC: later children must not keep a holder's stdin open. */
	CHECK_OK(pipe2(errp, O_CLOEXEC));
	CHECK_OK(pipe2(inp, O_CLOEXEC));
	CHECK_OK(pipe2(outp, O_CLOEXEC));
	h->pid = fork();
	CHECK(h->pid >= 0);
	if (!h->pid) {
		close(errp[0]);
		close(inp[1]);
		close(outp[0]);
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		if (uid >= 0 && (setresgid(uid, uid, uid) ||
				 setresuid(uid, uid, uid)))
			_exit(T_FAIL);
		if (mark && ioctl(rpal_fd, RPAL_IOC_EXEC_SLOT, RPAL_EXEC_SLOT))
			_exit(T_FAIL);
		execv(argv[0], argv);
		err = errno;
		if (write(errp[1], &err, sizeof(err)) != sizeof(err))
			_exit(T_FAIL);
		_exit(0);
	}
	close(errp[1]);
	close(inp[0]);
	close(outp[1]);
	h->in = inp[1];
	h->slot = 0;
	n = read(errp[0], &err, sizeof(err));
	close(errp[0]);
	if (n == sizeof(err)) {
		close(h->in);
		close(outp[0]);
		CHECK(reap(h->pid) == 0);
		return err;
	}
	CHECK(n == 0);
	if (hold) {
		n = read(outp[0], buf, sizeof(buf) - 1);
		if (n <= 0)
			FAIL("holder %d printed no slot (status %d)", h->pid,
			     reap(h->pid));
		h->slot = atoi(buf);
	}
	close(outp[0]);
	return 0;
}

/* Run @argv to its end; its exit status (128 + signal if killed). */
static int run(int mark, char *const argv[])
{
	struct holder h;
	int err = spawn(-1, mark, argv, &h);

	if (err)
		FAIL("execve %s: %s", argv[0], strerror(err));
	close(h.in);
	return reap(h.pid);
}

static void release(struct holder *h)
{
	close(h->in);
	CHECK(reap(h->pid) == 0);
}

static void bad_input(void)
{
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_EXEC_SLOT, 2UL), EINVAL);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_EXEC_SLOT, ~0UL), EINVAL);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_EXEC_SLOT, 1UL << 32 | 1), EINVAL);
	/* Nothing was marked: a plain exec (checked below) stays plain. */
	CHECK(ioctl(rpal_fd, RPAL_IOC_GET_SLOT) == 0);
	/* The first number no ioctl of /dev/rpal uses. */
	CHECK_ERR(ioctl(rpal_fd, _IO(RPAL_IOC_MAGIC, 16)), ENOTTY);
}

static void inside(void)
{
	char *dyn[] = { LAUNCHER, PROBE, "inside", NULL };
	char *stat[] = { LAUNCHER, "--", PROBE_STATIC, "inside", NULL };
	char *direct[] = { PROBE, "inside", NULL };
	int rc;

	rc = run(0, dyn);
	if (rc)
		FAIL("lazyrpc-exec slot_probe inside: status %d", rc);
	rc = run(0, stat);
	if (rc)
		FAIL("lazyrpc-exec slot_probe_static inside: status %d", rc);
	rc = run(1, direct);
	if (rc)
		FAIL("marked exec of slot_probe inside: status %d", rc);
}

static void plain(void)
{
	char *argv[] = { PROBE, "plain", NULL };
	struct holder h;
	int rc, st;
	pid_t pid;

	rc = run(0, argv);
	if (rc)
		FAIL("unmarked exec: status %d", rc);

	/* Marked, then unmarked. */
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		CHECK_OK(ioctl(rpal_fd, RPAL_IOC_EXEC_SLOT, RPAL_EXEC_SLOT));
		CHECK_OK(ioctl(rpal_fd, RPAL_IOC_EXEC_SLOT, 0));
		execv(argv[0], argv);
		_exit(T_FAIL);
	}
	if ((rc = reap(pid)))
		FAIL("marked then unmarked exec: status %d", rc);

	/* A fork child of a marked thread is not marked. */
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		CHECK_OK(ioctl(rpal_fd, RPAL_IOC_EXEC_SLOT, RPAL_EXEC_SLOT));
		if (spawn(-1, 0, argv, &h))
			_exit(T_FAIL);
		close(h.in);
		st = reap(h.pid);
		_exit(st);
	}
	if ((rc = reap(pid)))
		FAIL("exec in the fork child of a marked thread: status %d", rc);
}

static void mark_survives_failure(void)
{
	char *argv[] = { PROBE, "inside", NULL };
	char *etexec[] = { ET_EXEC_PROGRAM, NULL };
	char *launch[] = { LAUNCHER, ET_EXEC_PROGRAM, NULL };
	int rc;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (!pid) {
		CHECK_OK(ioctl(rpal_fd, RPAL_IOC_EXEC_SLOT, RPAL_EXEC_SLOT));
		CHECK_ERR(execv("/tests/no-such-program", argv), ENOENT);
		CHECK_ERR(execv(etexec[0], etexec), EINVAL);
		/* Still running, still without a slot, still marked. */
		CHECK(ioctl(rpal_fd, RPAL_IOC_GET_SLOT) == 0);
		execv(argv[0], argv);
		_exit(T_FAIL);
	}
	if ((rc = reap(pid)))
		FAIL("exec after failed marked ones: status %d", rc);
	rc = run(0, launch);
	if (rc != 126)
		FAIL("lazyrpc-exec of a non-PIE program: status %d, want 126", rc);
}

/*
 * Slots are counted per uid and in all; they are given back at mm
 * teardown, so the same sequence works twice in a row.
 */
static void limits(void)
{
	static struct holder h[RPAL_NR_SLOTS + 1];
	char *argv[] = { PROBE, "hold", NULL };
	int seen[RPAL_NR_SLOTS + 1] = { 0 };
	int users = RPAL_NR_SLOTS / RPAL_SLOTS_PER_USER, u, i, n = 0, round;
	struct holder extra;

	for (round = 0; round < 2; round++) {
		memset(seen, 0, sizeof(seen));
		n = 0;
		for (u = 0; u < users; u++) {
			for (i = 0; i < RPAL_SLOTS_PER_USER; i++, n++) {
				int err = spawn(u ? 2000 + u : -1, 1, argv, &h[n]);

				if (err)
					FAIL("round %d: slot %d of uid #%d: %s",
					     round, i, u, strerror(err));
				CHECK(h[n].slot >= 1 && h[n].slot <= RPAL_NR_SLOTS);
				if (seen[h[n].slot]++)
					FAIL("slot %d handed out twice", h[n].slot);
			}
			/* One more for this user is one too many. */
			CHECK(spawn(u ? 2000 + u : -1, 1, argv, &extra) == EDQUOT);
		}
		/* All taken: a fresh user finds none. */
		CHECK(spawn(2000 + users, 1, argv, &extra) == ENOSPC);
		for (i = 0; i < n; i++)
			release(&h[i]);
	}
}

int main(void)
{
	rpal_fd = rpal_open();
	if (ioctl(rpal_fd, RPAL_IOC_GET_SLOT) < 0) {
		printf("no RPAL slots (%s)\n", strerror(errno));
		return T_SKIP;
	}
	bad_input();
	inside();
	plain();
	mark_survives_failure();
	limits();
	return T_PASS;
}
