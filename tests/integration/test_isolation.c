// SPDX-License-Identifier: MIT
/*
 * Another process of the server's own uid cannot reach a client's region
 * through /proc/<server>/fd: the server is not dumpable, so the kernel
 * refuses those links to anyone without CAP_SYS_PTRACE. Root has that
 * capability, so the test acts as uid 65534, server and prober alike.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY 65534

/* Does /proc/PID/fd hold a region (a lazyrpc memfd)? Read as root. */
static bool holds_region(pid_t pid)
{
	char path[64], link[256];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) && !found) {
		char fd[320];
		ssize_t n;

		snprintf(fd, sizeof(fd), "%s/%s", path, e->d_name);
		n = readlink(fd, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strstr(link, "memfd:lazyrpc") != NULL;
		}
	}
	closedir(d);
	return found;
}

/* As the prober: \return how many of the server's descriptors it opened. */
static int open_server_fds(pid_t pid)
{
	char path[64], fd[320];
	struct dirent *e;
	int opened = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return 0; /* EACCES: the point */
	while ((e = readdir(d))) {
		int f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(fd, sizeof(fd), "%s/%s", path, e->d_name);
		f = open(fd, O_RDWR);
		if (f >= 0) {
			opened++;
			close(f);
		}
	}
	closedir(d);
	return opened;
}

START_TEST(same_uid_cannot_open_server_fds)
{
	char *argv[] = { (char *)h_bin("LRPC_PROBE"), "server", "iso", "1", "0",
			 NULL };
	int ready[2], go[2], status;
	struct peer srv;
	const char *dir, *run;
	char handoff[32];
	pid_t pid;
	char b;

	dir = h_dir_setup();
	ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
	h_spawn_as(&srv, argv, NOBODY);
	ck_assert_msg(h_expect(&srv, "ready", 10000), "probe server did not start");
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	/* The run's hand-off, as the server sees it (h_fork() leaves the
	 * child without it in a run in slots). */
	run = getenv("LRPC_EXPECT_HANDOFF");
	snprintf(handoff, sizeof(handoff), "%s", run ? run : "");
	pid = h_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		lrpc_channel *ch;

		/* From root to another uid: every capability goes too. */
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(3);
		/* Changing uid made us not dumpable, which no client that
		 * exec'd is: a kernel hand-off's peer must be ptraceable. */
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
			_exit(3);
		if (lrpc_channel_open("lrpc://iso", NULL, &ch) != 0)
			_exit(4);
		(void)!write(ready[1], "r", 1);
		(void)!read(go[0], &b, 1);
		/* Kernel hand-offs need peers that may ptrace each other, so
		 * their servers stay dumpable (docs/api.md): the open above is
		 * what must work there, as another uid without privileges.
		 * A server offering one stays dumpable even for this child
		 * on futex (a run in slots, where the child has none). */
		if (strcmp(lrpc_channel_handoff(ch), "futex") ||
		    (handoff[0] && strcmp(handoff, "futex")))
			_exit(0);
		_exit(open_server_fds(srv.pid) == 0 ? 0 : 1);
	}
	close(ready[1]); /* a prober that fails must not leave us waiting */
	close(go[0]);
	if (read(ready[0], &b, 1) != 1) {
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_abort_msg("the prober could not connect (exit %d)",
			     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	/* The region the prober is after exists while it looks. */
	ck_assert(holds_region(srv.pid));
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == 0,
		      WEXITSTATUS(status) == 1 ?
		      "a process of the server's uid opened its descriptors" :
		      "the prober could not connect (exit %d)", WEXITSTATUS(status));
	h_kill(&srv, SIGTERM);
}
END_TEST

int main(void)
{
	const TTest *const t[] = { same_uid_cannot_open_server_fds };

	if (geteuid() != 0) {
		/* As a plain user we could not act as a second identity. */
		printf("SKIP: needs root to act as uid %d\n", NOBODY);
		return 77;
	}
	return h_run("isolation", t, 1, 60);
}
