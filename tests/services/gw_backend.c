// SPDX-License-Identifier: MIT
/*
 * The gateway tests' backend: gwtest.GwTest (gwtest.proto) with health
 * and reflection.
 *
 *   gw_backend URI...   listen on each URI, print "listen URI" for each
 *                       (the real port for :0), then "ready"; serve until
 *                       SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lazyrpc/lazyrpc.h>
#include <lazyrpc/std.h>

#include "gwtest.lrpc.h"

static lrpc_server *server;

static lrpc_code echo(void *user, lrpc_call *call, const Gwtest__Kinds *req, Gwtest__Kinds *rep)
{
	(void)user, (void)call;
	*rep = *req; /* the reply's fields may point into the request */
	return LRPC_OK;
}

static lrpc_code fail(void *user, lrpc_call *call, const Gwtest__FailRequest *req,
		      Gwtest__Empty *rep)
{
	(void)user, (void)rep;
	lrpc_call_set_message(call, "%s", req->message ? req->message : "");
	return (lrpc_code)req->code;
}

static lrpc_code sleep_(void *user, lrpc_call *call, const Gwtest__SleepRequest *req,
			Gwtest__Empty *rep)
{
	struct timespec tick = { 0, 1000000 };
	lrpc_deadline until = lrpc_deadline_after_ms(req->ms);

	(void)user, (void)rep;
	printf("sleeping\n");
	fflush(stdout);
	/* Not synchronisation: this is the slow handler the tests need. */
	while (lrpc_now() < until && !lrpc_call_cancelled(call))
		nanosleep(&tick, NULL);
	if (lrpc_call_cancelled(call))
		return lrpc_now() >= lrpc_call_deadline(call) ? LRPC_DEADLINE_EXCEEDED :
								 LRPC_CANCELLED;
	return LRPC_OK;
}

static lrpc_code who_am_i(void *user, lrpc_call *call, const Gwtest__Empty *req,
			  Gwtest__IdReply *rep)
{
	const lrpc_metadata *md = lrpc_call_metadata_get(call, "x-request-id");

	(void)user, (void)req;
	rep->request_id = md ? lrpc_call_strdup(call, md->value) : (char *)"";
	return LRPC_OK;
}

/* The streams' request metadata "x-add: N" adds N to every number they
 * send (lazyrpc call -H on streams). */
static int32_t stream_md(lrpc_call *call)
{
	const lrpc_metadata *add = lrpc_call_metadata_get(call, "x-add");

	return add ? (int32_t)strtol(add->value, NULL, 10) : 0;
}

static lrpc_code count(void *user, lrpc_call *call, const Gwtest__CountRequest *req,
		       lrpc_server_stream *s)
{
	Gwtest__CountReply rep = GWTEST__COUNT_REPLY__INIT;
	int32_t add = stream_md(call);
	lrpc_code code;

	(void)user;
	for (int i = 0; i < req->n; i++) {
		rep.i = i + add;
		code = gwtest__gw_test__count__server_write(s, &rep);
		if (code != LRPC_OK)
			return code;
	}
	if (req->fail_code)
		lrpc_call_set_message(call, "failed after %d", req->n);
	return (lrpc_code)req->fail_code;
}

static lrpc_code upload(void *user, lrpc_call *call, lrpc_server_stream *s,
			Gwtest__CountReply *rep)
{
	Gwtest__CountRequest *req;
	lrpc_code code;

	(void)user;
	rep->i = stream_md(call);
	while ((code = gwtest__gw_test__upload__server_read(s, &req)) == LRPC_OK && req)
		rep->i += req->n;
	return code;
}

static lrpc_code tally(void *user, lrpc_call *call, lrpc_server_stream *s)
{
	Gwtest__CountReply rep = GWTEST__COUNT_REPLY__INIT;
	Gwtest__CountRequest *req;
	lrpc_code code;

	(void)user;
	rep.i = stream_md(call);
	while ((code = gwtest__gw_test__tally__server_read(s, &req)) == LRPC_OK && req) {
		rep.i += req->n;
		code = gwtest__gw_test__tally__server_write(s, &rep);
		if (code != LRPC_OK)
			break;
	}
	return code;
}

static lrpc_code get(void *user, lrpc_call *call, const Gwtest__GetRequest *req,
		     Gwtest__GetRequest *rep)
{
	(void)user, (void)call;
	*rep = *req;
	return LRPC_OK;
}

static void on_term(int sig)
{
	(void)sig;
	lrpc_server_stop(server);
}

int main(int argc, char **argv)
{
	static const Gwtest__GwTest_Handlers h = {
		.echo = echo, .fail = fail, .sleep = sleep_, .who_am_i = who_am_i,
		.count = count, .get = get, .upload = upload, .tally = tally,
	};
	lrpc_health *health;
	lrpc_server_opts so;
	char uri[300];
	int ret;

	if (argc < 2) {
		fprintf(stderr, "usage: gw_backend URI...\n");
		return 2;
	}
	lrpc_server_opts_init(&so);
	/* test_gateway.py's refused backend: a server already full. */
	if (getenv("GW_BACKEND_MAX_CONNS"))
		so.max_conns = (unsigned int)atoi(getenv("GW_BACKEND_MAX_CONNS"));
	ret = lrpc_server_new(&so, &server);
	if (!ret)
		ret = lrpc_server_add_reflection(server);
	if (!ret)
		ret = lrpc_server_add_health(server, &health);
	if (!ret)
		ret = gwtest__gw_test__register(server, &h, NULL);
	for (int i = 1; i < argc && !ret; i++)
		ret = lrpc_server_listen(server, argv[i]);
	if (!ret)
		ret = lrpc_server_start(server);
	if (ret) {
		fprintf(stderr, "gw_backend: %s %s\n", strerror(-ret), lrpc_server_error(server));
		return 1;
	}
	for (unsigned int i = 0; lrpc_server_listener_uri(server, i, uri, sizeof(uri)) == 0; i++)
		printf("listen %s\n", uri);
	printf("ready\n");
	fflush(stdout);
	signal(SIGTERM, on_term);
	ret = lrpc_server_run(server);
	lrpc_server_free(server);
	return ret ? 1 : 0;
}
