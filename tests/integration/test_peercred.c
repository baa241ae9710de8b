// SPDX-License-Identifier: MIT
/* Only the server's own uid may connect by default, or own its names. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"

/* The forked child, acting as another uid, exits 0 if its checks held. */
static void child_passed(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

START_TEST(other_uid_is_refused)
{
	const char *dir;
	char sock[256];
	struct peer srv;
	pid_t pid;

	dir = h_dir_setup();
	h_probe_server(&srv, "private", "1", NULL);
	/* Open the file system path to everyone, so that only the server's
	 * own SO_PEERCRED check stands in the way. */
	snprintf(sock, sizeof(sock), "%s/private", dir);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chmod(sock, 0666), 0);
	pid = h_fork();
	if (pid == 0) {
		lrpc_channel *ch;

		lrpc_channel_opts o;
		lrpc_status st;

		if (setgid(65534) || setuid(65534))
			_exit(3);
		lrpc_channel_opts_init(&o);
		o.open_status = &st;
		if (lrpc_channel_open("lrpc://private", &o, &ch) != -EACCES)
			_exit(1);
		/* ...and says why. */
		_exit(st.code == LRPC_PERMISSION_DENIED &&
		      strstr(st.message, "uid 65534") ? 0 : 2);
	}
	child_passed(pid);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* Over unix:// the refusal is the answer to the first call, with a reason,
 * not a connection reset. */
START_TEST(other_uid_is_told_why_over_unix)
{
	const char *dir;
	char sock[256], uri[300];
	struct peer srv;
	pid_t pid;

	dir = h_dir_setup();
	h_probe_server(&srv, "private", "1", NULL);
	snprintf(sock, sizeof(sock), "%s/private.sock", dir);
	snprintf(uri, sizeof(uri), "unix://%s", sock);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chmod(sock, 0666), 0);
	pid = h_fork();
	if (pid == 0) {
		Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
		lrpc_channel *ch;
		lrpc_status st;
		lrpc_code code;

		if (setgid(65534) || setuid(65534))
			_exit(3);
		if (lrpc_channel_open(uri, NULL, &ch) != 0)
			_exit(4);
		code = lrpctest__probe__echo__call(ch, &req, &rep, 0, &st);
		if (code != LRPC_PERMISSION_DENIED) {
			fprintf(stderr, "%s: %s\n", lrpc_code_name(code), st.message);
			_exit(1);
		}
		_exit(strstr(st.message, "uid 65534") ? 0 : 2);
	}
	child_passed(pid);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* In the shared /tmp fallback, a directory someone else made first would
 * hand them every name in it: the server refuses to use it. */
START_TEST(squatted_tmp_dir_is_refused)
{
	const uid_t victim = 65534;
	char dir[64];
	pid_t pid;
	int status;

	snprintf(dir, sizeof(dir), "/tmp/lazyrpc-%u", (unsigned int)victim);
	rmdir(dir);
	ck_assert_int_eq(mkdir(dir, 0777), 0); /* root's, and open to all */
	chmod(dir, 0777);
	pid = h_fork();
	if (pid == 0) {
		lrpc_server *s;

		unsetenv("LAZYRPC_DIR");
		unsetenv("XDG_RUNTIME_DIR");
		if (setgid(victim) || setuid(victim))
			_exit(3);
		if (lrpc_server_new(NULL, &s))
			_exit(4);
		if (lrpc_server_listen(s, "lrpc://mine") != -EACCES)
			_exit(1);
		/* ...saying which directory and what to do. */
		_exit(strstr(lrpc_server_error(s), dir) &&
		      strstr(lrpc_server_error(s), "LAZYRPC_DIR") ? 0 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	rmdir(dir);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* Listen on lrpc://x with the runtime directory from \p var = \p value:
 * \return the errno, and the error's words must name \p dir. */
static int listen_in(const char *var, const char *value, const char *dir)
{
	lrpc_server *s;
	int ret;

	unsetenv("LAZYRPC_DIR");
	unsetenv("XDG_RUNTIME_DIR");
	setenv(var, value, 1);
	ck_assert_int_eq(lrpc_server_new(NULL, &s), 0);
	ret = lrpc_server_listen(s, "lrpc://x");
	if (ret)
		ck_assert_msg(strstr(lrpc_server_error(s), dir), "'%s'",
			      lrpc_server_error(s));
	lrpc_server_free(s);
	return ret;
}

/* $LAZYRPC_DIR and $XDG_RUNTIME_DIR/lazyrpc are checked like the /tmp
 * fallback: another uid's directory, or one others may write, would hand
 * them our names. */
START_TEST(runtime_dir_not_ours_is_refused)
{
	char dir[64] = "/tmp/lazyrpc-test-XXXXXX", sub[96];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chown(dir, 65534, 65534), 0);
	ck_assert_int_eq(listen_in("LAZYRPC_DIR", dir, dir), -EACCES);
	ck_assert_int_eq(chown(dir, 0, 0), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(listen_in("LAZYRPC_DIR", dir, dir), -EACCES);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(listen_in("LAZYRPC_DIR", dir, dir), 0);
	/* XDG_RUNTIME_DIR is ours, but lazyrpc/ in it was made by another. */
	snprintf(sub, sizeof(sub), "%s/xdg", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/xdg/lazyrpc", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(chown(sub, 65534, 65534), 0);
	snprintf(sub, sizeof(sub), "%s/xdg", dir);
	ck_assert_int_eq(listen_in("XDG_RUNTIME_DIR", sub, sub), -EACCES);
}
END_TEST

int main(void)
{
	const TTest *const t[] = { other_uid_is_refused, other_uid_is_told_why_over_unix,
				   squatted_tmp_dir_is_refused,
				   runtime_dir_not_ours_is_refused };

	if (geteuid() != 0) {
		/* Acting as another uid needs root. */
		printf("SKIP: needs root to act as another uid\n");
		return 77;
	}
	return h_run("peercred", t, 4, 60);
}
