// SPDX-License-Identifier: MIT
/* Only the server's own uid may connect by default. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

START_TEST(other_uid_is_refused)
{
	const char *dir;
	char sock[256];
	struct peer srv;
	pid_t pid;
	int status;

	dir = h_dir_setup();
	h_probe_server(&srv, "private", "1", NULL);
	/* Open the file system path to everyone, so that only the server's
	 * own SO_PEERCRED check stands in the way. */
	snprintf(sock, sizeof(sock), "%s/private", dir);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chmod(sock, 0666), 0);
	pid = fork();
	if (pid == 0) {
		lrpc_channel *ch;

		if (setgid(65534) || setuid(65534))
			_exit(3);
		_exit(lrpc_channel_open("lrpc://private", NULL, &ch) == -EACCES ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	h_kill(&srv, SIGTERM);
}
END_TEST

int main(void)
{
	const TTest *const t[] = { other_uid_is_refused };

	if (geteuid() != 0) {
		/* Acting as another uid needs root. */
		printf("SKIP: needs root to act as another uid\n");
		return 77;
	}
	return h_run("peercred", t, 1, 60);
}
