/* SPDX-License-Identifier: MIT */
/*
 * bench-mesh-relay: one service of the mesh bench's chain (bench/run-mesh).
 *
 *   bench-mesh-relay --listen URI [--next URI] [--receivers N]
 *                    [--idle-timeout-ms MS]
 *
 * Serves benchmesh.Relay (relay.proto) on URI: Forward adds one to the
 * request's hops and, with --next, calls the next relay with it and
 * answers with that reply; without, answers with it (the chain's end).
 * The next hop gets the caller's deadline, as a mesh service propagates
 * it. Prints "READY URI" once serving, runs until SIGTERM or SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/lazyrpc.h>

#include "relay.lrpc.h"
#include "relay.pb-c.h"

static lrpc_channel *next_ch; /* NULL: the chain's last relay */

static lrpc_code forward(void *user, lrpc_call *call, const Benchmesh__Msg *req,
			 Benchmesh__Msg *rep)
{
	Benchmesh__Msg fwd = *req, *got = NULL;
	lrpc_status st;
	lrpc_code code;

	(void)user;
	fwd.hops = req->hops + 1;
	if (!next_ch) {
		/* The request's strings live as long as the call: no copy. */
		*rep = fwd;
		return LRPC_OK;
	}
	code = benchmesh__relay__forward__call(next_ch, &fwd, &got, lrpc_call_deadline(call), &st);
	if (code != LRPC_OK) {
		lrpc_call_set_message(call, "next hop: %s", st.message);
		return code;
	}
	rep->hops = got->hops;
	rep->payload = lrpc_call_strdup(call, got->payload);
	benchmesh__msg__free_unpacked(got, NULL);
	return rep->payload ? LRPC_OK : LRPC_RESOURCE_EXHAUSTED;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s --listen URI [--next URI] [--receivers N] "
		"[--idle-timeout-ms MS]\n", argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "next", required_argument, NULL, 'n' },
		{ "receivers", required_argument, NULL, 'r' },
		{ "idle-timeout-ms", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	static const Benchmesh__Relay_Handlers handlers = { .forward = forward };
	const char *listen = NULL, *next = NULL;
	unsigned int receivers = 0, idle_ms = 3600 * 1000;
	lrpc_server_opts so;
	lrpc_server *srv;
	sigset_t set;
	int c, rc, sig;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'l')
			listen = optarg;
		else if (c == 'n')
			next = optarg;
		else if (c == 'r')
			receivers = (unsigned int)strtoul(optarg, NULL, 10);
		else if (c == 'i')
			idle_ms = (unsigned int)strtoul(optarg, NULL, 10);
		else
			usage(argv[0]);
	}
	if (!listen || optind != argc)
		usage(argv[0]);
	/* Threads started from here on block these; main waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (next) {
		lrpc_channel_opts co;
		lrpc_status st = { 0 };

		lrpc_channel_opts_init(&co);
		co.open_status = &st;
		co.connect_timeout_ms = 10000;
		rc = lrpc_channel_open(next, &co, &next_ch);
		if (rc < 0) {
			fprintf(stderr, "relay: open %s: %s %s\n", next, strerror(-rc), st.message);
			return 1;
		}
	}
	lrpc_server_opts_init(&so);
	so.receivers = receivers;
	/* The socket clients (unix://, tcp://, grpc://) take a connection per
	 * call in flight, and keep them: a caller with 32 calls at once and
	 * the bench's bursts pass the default 64, and the server would then
	 * refuse them (GOAWAY "server full"). Size it like a mesh service. */
	so.max_conns = 1024;
	/* Idle connections stay (an hour unless told): the bench leaves a
	 * mesh idle while it loads the others, and a grpc:// client that
	 * takes a pooled connection the server has sent GOAWAY on fails the
	 * call (REFUSED_STREAM, no retry) instead of opening another. */
	so.idle_timeout_ms = idle_ms;
	if ((rc = lrpc_server_new(&so, &srv)) ||
	    (rc = benchmesh__relay__register(srv, &handlers, NULL)) ||
	    (rc = lrpc_server_listen(srv, listen)) || (rc = lrpc_server_start(srv))) {
		fprintf(stderr, "relay: serve %s: %s\n", listen, strerror(-rc));
		return 1;
	}
	printf("READY %s\n", listen);
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	lrpc_server_stop(srv);
	lrpc_server_free(srv);
	if (next_ch)
		lrpc_channel_close(next_ch);
	return 0;
}
