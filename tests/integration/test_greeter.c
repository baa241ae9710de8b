// SPDX-License-Identifier: MIT
/* The greeter example, through its real binaries. */
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

START_TEST(greeter_round_trip)
{
	const char *dir = h_dir_setup();
	char *srv_argv[] = { (char *)h_bin("LRPC_GREETER_SERVER"), NULL };
	char *cli_argv[] = { (char *)h_bin("LRPC_GREETER_CLIENT"),
			     "lrpc://greeter", "Ada", NULL };
	char *bad_argv[] = { (char *)h_bin("LRPC_GREETER_CLIENT"),
			     "lrpc://greeter", "", NULL };
	const char *handoff = getenv("LRPC_EXPECT_HANDOFF");
	struct peer srv, cli;
	char sock[256], line[128];
	struct stat st;
	int status;

	h_spawn(&srv, srv_argv);
	ck_assert(h_expect(&srv, "greeter-server: serving lrpc://greeter", 10000));

	h_spawn(&cli, cli_argv);
	snprintf(line, sizeof(line), "Hello, Ada! (over lrpc://greeter, hand-off %s",
		 handoff && *handoff ? handoff : "");
	ck_assert_msg(h_expect(&cli, line, 10000), "no '%s'", line);
	status = h_wait(&cli, 10000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* A handler's error status and message reach the caller. */
	h_spawn(&cli, bad_argv);
	status = h_wait(&cli, 10000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);

	/* SIGTERM stops the server cleanly and frees the name. */
	snprintf(sock, sizeof(sock), "%s/greeter", dir);
	ck_assert_int_eq(stat(sock, &st), 0);
	kill(srv.pid, SIGTERM);
	status = h_wait(&srv, 10000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_ne(stat(sock, &st), 0);
}
END_TEST

H_MAIN("greeter", 60, greeter_round_trip)
