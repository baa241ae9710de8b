// SPDX-License-Identifier: MIT
/*
 * A real lazyrpc server in the fuzzer's process, through the public API
 * only: the Probe service with handlers that never block (inline handlers
 * run on the I/O thread), started once per process and stopped at exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "probe.lrpc.h"

/* Echo's reply_size above this is refused: the service is not what is
 * under test, and libFuzzer counts a huge malloc as a crash. */
#define MAX_REPLY 65536u

static lrpc_server *servers[4];
static lrpc_channel *channels[4];
static unsigned int nservers, nchannels;
static char private_dir[64];

static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	/* Request metadata comes back: "x-echo" as a header, the whole set
	 * as trailers (what the rules let through), so that replies carry
	 * response metadata where the transport does. */
	const lrpc_metadata *md, *e = lrpc_call_metadata_get(call, "x-echo");
	size_t n = lrpc_call_metadata(call, &md);

	(void)user;
	if (e)
		(void)lrpc_call_add_header(call, "x-echo", e->value, e->value_len);
	for (size_t i = 0; i < n; i++)
		(void)lrpc_call_add_trailer(call, md[i].key, md[i].value,
					    md[i].value_len);
	rep->seq = req->seq;
	if (req->reply_size > MAX_REPLY)
		return LRPC_RESOURCE_EXHAUSTED;
	if (req->reply_size) {
		rep->payload.len = req->reply_size;
		rep->payload.data = lrpc_call_alloc(call, req->reply_size);
		if (!rep->payload.data)
			return LRPC_RESOURCE_EXHAUSTED;
		memset(rep->payload.data, 'r', req->reply_size);
	} else {
		rep->payload = req->payload;
	}
	return LRPC_OK;
}

static void on_cancel(void *arg)
{
	(void)arg;
}

/* Registers for its cancel (where the transport can tell) and returns:
 * the notification's paths without a handler that could hang. */
static lrpc_code slow(void *user, lrpc_call *call, const Lrpctest__SlowReq *req,
		      Lrpctest__SlowReply *rep)
{
	int ret = lrpc_call_on_cancel(call, on_cancel, NULL);

	(void)user;
	if (ret != 0 && ret != -ENOTSUP)
		return LRPC_INTERNAL;
	rep->tag = req->tag;
	return LRPC_OK;
}

static lrpc_code release(void *user, lrpc_call *call, const Lrpctest__Empty *req,
			 Lrpctest__Empty *rep)
{
	(void)user, (void)req, (void)rep;
	lrpc_call_set_message(call, "nothing to release");
	return LRPC_FAILED_PRECONDITION;
}

static lrpc_code stats(void *user, lrpc_call *call, const Lrpctest__Empty *req,
		       Lrpctest__StatsReply *rep)
{
	lrpc_server_stats s;

	(void)call, (void)req;
	lrpc_server_stats_get(user, &s);
	rep->clients_active = s.clients_active;
	rep->calls_ok = s.calls_ok;
	rep->calls_failed = s.calls_failed;
	rep->protocol_errors = s.protocol_errors;
	return LRPC_OK;
}

static void stop_all(void)
{
	while (nchannels)
		lrpc_channel_close(channels[--nchannels]);
	while (nservers) {
		lrpc_server *srv = servers[--nservers];

		lrpc_server_stop(srv);
		lrpc_server_free(srv);
	}
	rmdir(private_dir);
}

/* A runtime directory of our own (LAZYRPC_DIR), made on first use: names
 * and sockets of other processes cannot get in the way, nor ours in theirs.
 * The servers remove their sockets as they go, so it is empty at exit. */
static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (private_dir[0])
		return;
	snprintf(private_dir, sizeof(private_dir), "%s/lrpc-fuzz-XXXXXX",
		 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(private_dir) || setenv("LAZYRPC_DIR", private_dir, 1))
		fz_die("no private runtime directory: %s", strerror(errno));
	atexit(stop_all);
}

int (*fz_server_register)(lrpc_server *srv);

lrpc_server *fz_server(const char *uri, bool inline_handlers,
		       size_t max_msg, unsigned int receivers)
{
	static const Lrpctest__Probe_Handlers h = {
		.echo = echo, .slow = slow, .release = release, .stats = stats,
	};
	lrpc_server_opts o;
	lrpc_server *srv;
	int ret;

	if (nservers == sizeof(servers) / sizeof(servers[0]))
		fz_die("too many servers");
	setup();
	lrpc_server_opts_init(&o);
	o.inline_handlers = inline_handlers;
	o.max_msg_size = max_msg;
	o.receivers = receivers;
	/* A fixed geometry the harnesses can check: no lanes on demand. */
	o.max_receivers = receivers;
	o.max_clients = 1024;
	ret = lrpc_server_new(&o, &srv);
	if (ret)
		fz_die("lrpc_server_new: %d", ret);
	ret = lrpctest__probe__register(srv, &h, srv);
	if (!ret && fz_server_register)
		ret = fz_server_register(srv);
	if (!ret)
		ret = lrpc_server_listen(srv, uri);
	if (!ret)
		ret = lrpc_server_start(srv);
	if (ret)
		fz_die("server on %s: %s", uri, strerror(-ret));
	servers[nservers++] = srv;
	return srv;
}

void fz_runtime_path(char *buf, size_t len, const char *name,
		     const char *suffix)
{
	char dir[200];
	int ret;

	setup();
	ret = lrpc_runtime_dir(dir, sizeof(dir));
	if (ret < 0)
		fz_die("lrpc_runtime_dir: %d", ret);
	if ((size_t)snprintf(buf, len, "%s/%s-%d%s", dir, name, (int)getpid(),
			     suffix) >= len)
		fz_die("runtime path too long");
}

lrpc_channel *fz_channel(const char *uri)
{
	lrpc_channel *ch;
	int ret;

	if (nchannels == sizeof(channels) / sizeof(channels[0]))
		fz_die("too many channels");
	setup();
	ret = lrpc_channel_open(uri, NULL, &ch);
	if (ret)
		fz_die("lrpc_channel_open %s: %s", uri, strerror(-ret));
	channels[nchannels++] = ch;
	return ch;
}

void fz_probe(lrpc_channel *ch, const char *what)
{
	static uint64_t seq;
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
	uint8_t payload[8] = "probe!!";
	lrpc_status st;

	req.seq = ++seq;
	req.payload.data = payload;
	req.payload.len = sizeof(payload);
	if (lrpctest__probe__echo__call(ch, &req, &rep,
					lrpc_deadline_after_ms(FZ_HANG_MS),
					&st) != LRPC_OK)
		fz_die("%s: the probe call failed afterwards: %s: %s", what,
		       lrpc_code_name(st.code), st.message);
	if (rep->seq != req.seq || rep->payload.len != sizeof(payload) ||
	    memcmp(rep->payload.data, payload, sizeof(payload)))
		fz_die("%s: the probe call came back wrong", what);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
}
