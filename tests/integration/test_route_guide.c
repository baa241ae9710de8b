// SPDX-License-Identifier: MIT
/*
 * The route_guide example (gRPC's route_guide.proto, all four kinds of
 * method) through its real binaries, over the transport under test.
 *
 * Until a transport carries streams, lrpc_stream_open() says
 * UNIMPLEMENTED and the client exits 77: then this test SKIPs, found out
 * at run time by one probe run of the pair before the real test (the
 * probe only spawns them: this process must not touch the runtime, see
 * harness.c). Once
 * streams work the probe passes and the test proper runs, over lrpc://
 * once per hand-off, where a 77 is a failure.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define SKIP 77

/* Start the server on the transport under test; *uri gets its address. */
static void start_server(struct peer *srv, char *uri, size_t len)
{
	const char *dir = h_dir_setup();
	const char *t = h_transport();
	char want[300], rest[300];
	char *argv[] = { (char *)h_bin("LRPC_ROUTE_GUIDE_SERVER"), want, NULL };

	if (strcmp(t, "unix") == 0)
		snprintf(want, sizeof(want), "unix://%s/route_guide.sock", dir);
	else if (strcmp(t, "tcp") == 0)
		snprintf(want, sizeof(want), "tcp://127.0.0.1:0");
	else if (strcmp(t, "grpc") == 0)
		snprintf(want, sizeof(want), "grpc://127.0.0.1:0");
	else if (strcmp(t, "grpc+unix") == 0)
		snprintf(want, sizeof(want), "grpc+unix://%s/route_guide.sock", dir);
	else
		snprintf(want, sizeof(want), "lrpc://route_guide");
	h_spawn(srv, argv);
	ck_assert_msg(h_expect_line(srv, "route-guide-server:", rest, sizeof(rest), 10000),
		      "route-guide-server did not start on %s", want);
	snprintf(uri, len, "%s", rest);
}

static char *client_argv(const char *uri, char **argv)
{
	argv[0] = (char *)h_bin("LRPC_ROUTE_GUIDE_CLIENT");
	argv[1] = (char *)uri;
	argv[2] = NULL;
	return argv[0];
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(route_guide_four_methods)
{
	/* What the client prints, step by step (it checks the values itself). */
	static const char *const lines[] = {
		"GetFeature: 'Grid 2,2'",
		"GetFeature: ''",
		"ListFeatures: 5 features",
		"RecordRoute: 4 points, 3 features",
		"RouteChat: 2 notes back: first second",
		"route-guide-client: all four methods passed",
	};
	struct peer srv, cli;
	char uri[300], *argv[3];
	int code, status;

	start_server(&srv, uri, sizeof(uri));
	client_argv(uri, argv);
	h_spawn(&cli, argv);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!h_expect(&cli, lines[i], 30000)) {
			code = exit_code(h_wait(&cli, 30000));
			ck_abort_msg("no '%s' from route-guide-client over %s (exit %d%s)", lines[i],
				     uri, code,
				     code == SKIP ? ": no streams, though the probe found them" : "");
		}
	}
	code = exit_code(h_wait(&cli, 30000));
	ck_assert_msg(code == 0, "route-guide-client exited %d", code);
	kill(srv.pid, SIGTERM);
	status = h_wait(&srv, 10000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/*
 * One run of the pair: does the transport under test carry streams? A
 * Check test run without forking (the harness asserts as it goes), so
 * that the client's exit code reaches main. It only spawns processes.
 */
static int probe_code = -1;

START_TEST(probe_streams)
{
	struct peer srv, cli;
	char uri[300], *argv[3];

	start_server(&srv, uri, sizeof(uri));
	client_argv(uri, argv);
	h_spawn(&cli, argv);
	probe_code = exit_code(h_wait(&cli, 30000));
	h_kill(&srv, SIGTERM);
}
END_TEST

static int probe(void)
{
	Suite *s = suite_create("route_guide probe");
	TCase *tc = tcase_create("probe");
	SRunner *sr;

	tcase_add_test(tc, probe_streams);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_SILENT);
	srunner_free(sr);
	return probe_code;
}

int main(void)
{
	const TTest *const tests[] = { route_guide_four_methods };

	if ((strcmp(h_transport(), "tcp") == 0 || strcmp(h_transport(), "grpc") == 0) &&
	    !h_have_ipv4()) {
		printf("SKIP: no IPv4 here\n");
		return SKIP;
	}
	if (probe() == SKIP) {
		printf("SKIP: route-guide-client: streams are not carried over %s yet\n",
		       h_transport());
		return SKIP;
	}
	return h_run("route_guide", tests, 1, 60);
}
