// SPDX-License-Identifier: MIT
/*
 * lazyrpc's grpc:// client calls a gRPC C++ server (interop_cxx_server.cc)
 * with the unary cases of grpc/grpc's doc/interop-test-descriptions.md:
 *
 *   interop_lrpc_client SERVER    start SERVER, run each case, stop it
 *                                 (it must exit 0).
 *
 * empty_unary, large_unary, status_code_and_message,
 * special_status_message, unimplemented_method, unimplemented_service.
 * The streaming cases wait for streams in lazyrpc's grpc:// client, and
 * timeout_on_sleeping_server for a server that sleeps (the case is
 * streaming). Exit 0: all passed; 1: one failed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lazyrpc/lazyrpc.h>

#include "grpc/testing/test.lrpc.h"

#define DEADLINE_MS 10000

static int failures;

#define EXPECT(cond)                                                         \
	do {                                                                 \
		if (!(cond)) {                                               \
			printf("FAIL %s: %s at line %d\n", __func__, #cond,  \
			       __LINE__);                                    \
			failures++;                                          \
			return;                                              \
		}                                                            \
	} while (0)

static void empty_unary(lrpc_channel *ch)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *rep = NULL;
	lrpc_status st;

	EXPECT(grpc__testing__test_service__empty_call__call(
		       ch, &req, &rep, lrpc_deadline_after_ms(DEADLINE_MS), &st) == LRPC_OK);
	EXPECT(protobuf_c_message_get_packed_size(&rep->base) == 0);
	grpc__testing__empty__free_unpacked(rep, NULL);
	printf("PASS %s\n", __func__);
}

static void large_unary(lrpc_channel *ch)
{
	Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
	Grpc__Testing__Payload p = GRPC__TESTING__PAYLOAD__INIT;
	Grpc__Testing__SimpleResponse *rep = NULL;
	uint8_t *zeros = calloc(1, 314159);
	lrpc_status st;
	lrpc_code code;

	EXPECT(zeros);
	p.body.data = zeros;
	p.body.len = 271828;
	req.payload = &p;
	req.response_size = 314159;
	code = grpc__testing__test_service__unary_call__call(
		ch, &req, &rep, lrpc_deadline_after_ms(DEADLINE_MS), &st);
	if (code == LRPC_OK && rep->payload && rep->payload->body.len == 314159 &&
	    !memcmp(rep->payload->body.data, zeros, 314159))
		printf("PASS %s\n", __func__);
	else
		printf("FAIL %s: %s %s\n", __func__, lrpc_code_name(code), st.message),
			failures++;
	if (rep)
		grpc__testing__simple_response__free_unpacked(rep, NULL);
	free(zeros);
}

static void expect_status(lrpc_channel *ch, const char *name, const char *message)
{
	Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
	Grpc__Testing__EchoStatus es = GRPC__TESTING__ECHO_STATUS__INIT;
	Grpc__Testing__SimpleResponse *rep = NULL;
	lrpc_status st;
	lrpc_code code;

	es.code = 2;
	es.message = (char *)message;
	req.response_status = &es;
	code = grpc__testing__test_service__unary_call__call(
		ch, &req, &rep, lrpc_deadline_after_ms(DEADLINE_MS), &st);
	if (code == LRPC_UNKNOWN && st.code == LRPC_UNKNOWN && !strcmp(st.message, message)) {
		printf("PASS %s\n", name);
	} else {
		printf("FAIL %s: %s '%s'\n", name, lrpc_code_name(code), st.message);
		failures++;
	}
	if (rep)
		grpc__testing__simple_response__free_unpacked(rep, NULL);
}

static void status_code_and_message(lrpc_channel *ch)
{
	expect_status(ch, __func__, "test status message");
}

static void special_status_message(lrpc_channel *ch)
{
	expect_status(ch, __func__, "\t\ntest with whitespace\r\nand Unicode BMP \u263a and "
				    "non-BMP \U0001F608\t\n");
}

static void unimplemented_method(lrpc_channel *ch)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *rep = NULL;
	lrpc_status st;

	EXPECT(grpc__testing__test_service__unimplemented_method__call(
		       ch, &req, &rep, lrpc_deadline_after_ms(DEADLINE_MS), &st) ==
	       LRPC_UNIMPLEMENTED);
	printf("PASS %s\n", __func__);
}

static void unimplemented_service(lrpc_channel *ch)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *rep = NULL;
	lrpc_status st;

	EXPECT(grpc__testing__unimplemented_service__unimplemented_call__call(
		       ch, &req, &rep, lrpc_deadline_after_ms(DEADLINE_MS), &st) ==
	       LRPC_UNIMPLEMENTED);
	printf("PASS %s\n", __func__);
}

/* Start \p path with its stdout piped here; its grpc:// URI into \p uri. */
static pid_t start(const char *path, char *uri, size_t len)
{
	char line[256];
	int fd[2];
	FILE *out;
	pid_t pid;

	uri[0] = '\0';
	if (pipe(fd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	out = fdopen(fd[0], "r");
	while (out && fgets(line, sizeof(line), out)) {
		if (!strncmp(line, "listen ", 7)) {
			snprintf(uri, len, "%.200s", line + 7);
			uri[strcspn(uri, "\r\n")] = '\0';
		}
		if (!strcmp(line, "ready\n"))
			break;
	}
	return pid;
}

int main(int argc, char **argv)
{
	void (*const cases[])(lrpc_channel *) = {
		empty_unary, large_unary, status_code_and_message,
		special_status_message, unimplemented_method, unimplemented_service,
	};
	char uri[300];
	lrpc_channel *ch;
	int status = -1, ret;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: interop_lrpc_client SERVER\n");
		return 2;
	}
	pid = start(argv[1], uri, sizeof(uri));
	if (pid < 0 || !uri[0]) {
		printf("FAIL: the server did not start\n");
		return 1;
	}
	ret = lrpc_channel_open(uri, NULL, &ch);
	if (ret < 0) {
		printf("FAIL: open %s: %s\n", uri, strerror(-ret));
		kill(pid, SIGKILL);
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cases[i](ch);
	lrpc_channel_close(ch);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("FAIL server_exit: status 0x%x\n", status);
		failures++;
	}
	fflush(stdout);
	return failures ? 1 : 0;
}
