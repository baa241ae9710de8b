// SPDX-License-Identifier: MIT
/*
 * Services of different users: another uid can neither use up a user's
 * service ids nor request (and so call) its services, in either direction
 * between root and a user; a process that may not be traced (not
 * dumpable) cannot be requested even by its own uid.
 */
// ktest: timeout=120
#include <grp.h>
#include <sys/prctl.h>
#include "rpal_test.h"

#define MAX_IDS 255

struct shared {
	struct rpal_service_info info[4];
	volatile int ready[4];
	volatile int enabled;
};

static struct shared *sh;
static int hold[2];

static void become(uid_t uid)
{
	CHECK_OK(setgroups(0, NULL));
	CHECK_OK(setresgid(uid, uid, uid));
	CHECK_OK(setresuid(uid, uid, uid));
	/* Changing uid made the process undumpable: undo that. */
	CHECK_OK(prctl(PR_SET_DUMPABLE, 1));
}

/* A service of @uid in slot @i that lives until the test ends. */
static pid_t service(int i, uid_t uid, int dumpable)
{
	pid_t pid = fork();
	char c;

	if (pid == 0) {
		int fd = rpal_open();

		close(hold[1]);
		if (uid)
			become(uid);
		if (!dumpable)
			CHECK_OK(prctl(PR_SET_DUMPABLE, 0));
		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &sh->info[i]));
		__atomic_store_n(&sh->ready[i], 1, __ATOMIC_RELEASE);
		if (read(hold[0], &c, 1) < 0)
			exit(T_FAIL);
		exit(T_PASS);
	}
	CHECK(pid > 0);
	while (!__atomic_load_n(&sh->ready[i], __ATOMIC_ACQUIRE))
		usleep(1000);
	return pid;
}

/* In a new process of @uid: request the service in slot @i. */
static int request_as(uid_t uid, int i)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct rpal_request req = { .key = sh->info[i].key };
		struct rpal_service_info info;
		int fd = rpal_open();

		if (uid)
			become(uid);
		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		if (ioctl(fd, RPAL_IOC_REQUEST, &req) == 0) {
			CHECK(req.id == sh->info[i].id);
			exit(0);
		}
		if (errno != EACCES)
			FAIL("request: %s", strerror(errno));
		/* Not requested, so not callable either. */
		CHECK_ERR(rpal_call(fd, sh->info[i].id, 0, 0), ENOTCONN);
		exit(EACCES);
	}
	return reap(pid);
}

/* uid 1001 takes every id it can; returns how many. */
static int exhaust(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = rpal_open(), n = 0;

		close(hold[1]);
		become(1001);
		for (;;) {
			struct rpal_service_info info;
			pid_t c = fork();
			char ch;

			if (c == 0) {
				if (ioctl(fd, RPAL_IOC_ENABLE, &info))
					exit(errno == ENOSPC ? 2 : 1);
				__atomic_add_fetch(&sh->enabled, 1,
						   __ATOMIC_RELEASE);
				if (read(hold[0], &ch, 1) < 0)
					exit(1);
				exit(0);
			}
			while (__atomic_load_n(&sh->enabled, __ATOMIC_ACQUIRE) == n) {
				int status;

				if (waitpid(c, &status, WNOHANG) == c)
					exit(WEXITSTATUS(status) == 2 ? 0 : 1);
				usleep(1000);
			}
			if (++n > MAX_IDS)
				exit(1);
		}
	}
	CHECK(reap(pid) == 0);
	return sh->enabled;
}

int main(void)
{
	pid_t pids[4];

	rpal_open();
	sh = shared_alloc(sizeof(*sh));
	CHECK_OK(pipe(hold));

	pids[0] = service(0, 1000, 1);
	pids[1] = service(1, 0, 1);

	/* Same uid: allowed. Another uid: refused, both ways with root. */
	CHECK(request_as(1000, 0) == 0);
	CHECK(request_as(1001, 0) == EACCES);
	CHECK(request_as(1000, 1) == EACCES);
	CHECK(request_as(0, 0) == EACCES);
	CHECK(request_as(0, 1) == 0);

	/* Not dumpable: not even its own uid may request it. */
	pids[2] = service(2, 1000, 0);
	CHECK(request_as(1000, 2) == EACCES);

	/* Another uid's ids do not run out because one uid's did. */
	CHECK(exhaust() == MAX_IDS);
	pids[3] = service(3, 1000, 1);
	CHECK(sh->info[3].id >= 1 && sh->info[3].id <= MAX_IDS);

	close(hold[1]);
	for (int i = 0; i < 4; i++)
		CHECK(reap(pids[i]) == T_PASS);
	while (wait(NULL) > 0)
		;
	return T_PASS;
}
