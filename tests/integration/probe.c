// SPDX-License-Identifier: MIT
/*
 * probe: the integration tests' peer, one binary in several modes.
 *
 *   probe server NAME RECEIVERS MAX_MSG   serve lrpc://NAME, unix://DIR/NAME.sock
 *                                         and tcp://127.0.0.1:PORT (and, with
 *                                         LRPC_PROBE_GRPC set,
 *                                         grpc://127.0.0.1:PORT); prints
 *                                         "listen URI" for each, "ready", and
 *                                         "slow-enter" as each Slow starts
 *   probe load URI THREADS CALLS          each thread makes CALLS Echo calls
 *                                         and checks every reply
 *   probe slow URI                        one Slow call with a long deadline
 *   probe slow-until-cancelled URI        the same, returning once cancelled
 *   probe storm URI DEADLINE_MS           Echo calls with that deadline until one
 *                                         fails (the server is killed); exit 3
 *                                         if any returned a second or more
 *                                         after its deadline
 *   probe fail URI CODE MESSAGE           one Fail call: exit 0 if it ends with
 *                                         that code and message ("*": any)
 *   probe pingpong URI CALLS SIZE         CALLS Echo calls of SIZE payload
 *                                         bytes, one at a time; prints
 *                                         "pingpong NS HANDOFF", the mean
 *                                         round trip (tests/kernel/guest/
 *                                         runtime-bench; not a test)
 *
 * Exit status 0 means every check passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "streams.h"
#include "probe.lrpc.h"

static lrpc_server *server;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t released;
static unsigned long generation;

static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	(void)user;
	rep->seq = req->seq;
	if (req->reply_size) {
		rep->payload.len = req->reply_size;
		rep->payload.data = lrpc_call_alloc(call, req->reply_size);
		if (!rep->payload.data)
			return LRPC_RESOURCE_EXHAUSTED;
		memset(rep->payload.data, 'r', req->reply_size);
	} else {
		rep->payload = req->payload; /* lives until the reply is packed */
	}
	return LRPC_OK;
}

/* Block until Release, or for hold_ms, or until well after the caller has
 * given up. */
static lrpc_code slow(void *user, lrpc_call *call, const Lrpctest__SlowReq *req,
		      Lrpctest__SlowReply *rep)
{
	lrpc_deadline d = req->hold_ms ? lrpc_deadline_after_ms(req->hold_ms) :
					 lrpc_call_deadline(call) + 300000000;
	struct timespec ts = { .tv_sec = d / 1000000000, .tv_nsec = d % 1000000000 };
	unsigned long gen;

	(void)user;
	pthread_mutex_lock(&lock);
	gen = generation;
	printf("slow-enter %u\n", req->tag);
	fflush(stdout);
	while (gen == generation) {
		struct timespec t = ts;

		if (req->until_cancelled) {
			/* Look at the cancellation every 10 ms. */
			lrpc_deadline next = lrpc_deadline_after_ms(10);

			if (next < d)
				t = (struct timespec){ next / 1000000000,
						       next % 1000000000 };
		}
		if (pthread_cond_timedwait(&released, &lock, &t) != 0 &&
		    !req->until_cancelled)
			break;
		if (req->until_cancelled && lrpc_call_cancelled(call)) {
			pthread_mutex_unlock(&lock);
			printf("slow-cancelled %u\n", req->tag);
			fflush(stdout);
			return LRPC_CANCELLED;
		}
		if (lrpc_now() >= d)
			break;
	}
	pthread_mutex_unlock(&lock);
	rep->tag = req->tag;
	return LRPC_OK;
}

static lrpc_code release(void *user, lrpc_call *call, const Lrpctest__Empty *req,
			 Lrpctest__Empty *rep)
{
	(void)user, (void)call, (void)req, (void)rep;
	pthread_mutex_lock(&lock);
	generation++;
	pthread_cond_broadcast(&released);
	pthread_mutex_unlock(&lock);
	return LRPC_OK;
}

static lrpc_code stats(void *user, lrpc_call *call, const Lrpctest__Empty *req,
		       Lrpctest__StatsReply *rep)
{
	lrpc_server_stats s;

	(void)user, (void)call, (void)req;
	lrpc_server_stats_get(server, &s);
	rep->clients_active = s.clients_active;
	rep->receivers_active = s.receivers_active;
	rep->calls_ok = s.calls_ok;
	rep->calls_failed = s.calls_failed;
	rep->protocol_errors = s.protocol_errors;
	rep->clients_accepted = s.clients_accepted;
	rep->clients_rejected = s.clients_rejected;
	rep->conn_held_peak = s.conn_held_peak;
	rep->streams_active = s.streams_active;
	return LRPC_OK;
}

static lrpc_code fail(void *user, lrpc_call *call, const Lrpctest__FailReq *req,
		      Lrpctest__Empty *rep)
{
	(void)user, (void)rep;
	lrpc_call_set_message(call, "%s", req->message);
	return (lrpc_code)req->code;
}

static unsigned int env_uint(const char *name)
{
	const char *v = getenv(name);

	return v ? (unsigned int)strtoul(v, NULL, 10) : 0;
}

static void on_term(int sig)
{
	(void)sig;
	lrpc_server_stop(server);
}

static lrpc_code peer(void *user, lrpc_call *call, const Lrpctest__Empty *req,
		      Lrpctest__PeerReply *rep)
{
	const lrpc_peer *p = lrpc_call_peer(call);

	(void)user, (void)req;
	rep->transport = lrpc_call_strdup(call, p->transport);
	rep->address = lrpc_call_strdup(call, p->address);
	if (!rep->transport || !rep->address)
		return LRPC_RESOURCE_EXHAUSTED;
	rep->has_cred = p->has_cred;
	rep->pid = p->pid;
	rep->uid = p->uid;
	rep->gid = p->gid;
	return LRPC_OK;
}

/* LRPC_PROBE_ACL: "u1000,g100,...", the peer ACL of the probe server. */
static int set_acl(lrpc_server *srv, const char *spec)
{
	uid_t uids[LRPC_PEER_ACL_MAX];
	gid_t gids[LRPC_PEER_ACL_MAX];
	lrpc_peer_acl acl = { .uids = uids, .gids = gids };
	char *end;

	while (spec && *spec) {
		unsigned long id = strtoul(spec + 1, &end, 10);

		if (*spec == 'u' && acl.n_uids < LRPC_PEER_ACL_MAX)
			uids[acl.n_uids++] = (uid_t)id;
		else if (*spec == 'g' && acl.n_gids < LRPC_PEER_ACL_MAX)
			gids[acl.n_gids++] = (gid_t)id;
		else
			return -EINVAL;
		spec = *end == ',' ? end + 1 : end;
	}
	return lrpc_server_set_peer_acl(srv, &acl);
}

static int run_server(const char *name, unsigned int receivers, size_t max_msg)
{
	static const Lrpctest__Probe_Handlers h = {
		.echo = echo, .slow = slow, .release = release, .stats = stats,
		.fail = fail, .peer = peer,
	};
	lrpc_server_opts o;
	pthread_condattr_t ca;
	char uri[4][300], dir[200];
	unsigned int nuri = getenv("LRPC_PROBE_GRPC") ? 4 : 3;
	int ret;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&released, &ca);
	lrpc_server_opts_init(&o);
	o.receivers = receivers;
	o.max_msg_size = max_msg;
	/* Tests whose handlers never block also run with socket handlers on
	 * the I/O thread. */
	o.inline_handlers = getenv("LRPC_PROBE_INLINE") != NULL;
	/* Socket limits, for the tests that reach them. */
	o.max_conns = env_uint("LRPC_PROBE_MAX_CONNS");
	o.max_pipelined = env_uint("LRPC_PROBE_MAX_PIPELINED");
	o.max_conn_buffer_kib = env_uint("LRPC_PROBE_CONN_BUFFER_KIB");
	o.idle_timeout_ms = env_uint("LRPC_PROBE_IDLE_MS");
	o.header_timeout_ms = env_uint("LRPC_PROBE_HEADER_MS");
	o.max_receivers = env_uint("LRPC_PROBE_MAX_RECEIVERS");
	o.max_streams = env_uint("LRPC_PROBE_MAX_STREAMS");
	lrpc_runtime_dir(dir, sizeof(dir));
	snprintf(uri[0], sizeof(uri[0]), "lrpc://%s", name);
	snprintf(uri[1], sizeof(uri[1]), "unix://%s/%s.sock", dir, name);
	/* A restarted server can take its old port back (reconnect tests). */
	snprintf(uri[2], sizeof(uri[2]), "%s",
		 getenv("LRPC_PROBE_TCP") ? getenv("LRPC_PROBE_TCP") :
					    "tcp://127.0.0.1:0");
	snprintf(uri[3], sizeof(uri[3]), "%s",
		 getenv("LRPC_PROBE_GRPC_URI") ? getenv("LRPC_PROBE_GRPC_URI") :
						 "grpc://127.0.0.1:0");
	ret = lrpc_server_new(&o, &server);
	if (!ret)
		ret = set_acl(server, getenv("LRPC_PROBE_ACL"));
	if (!ret)
		ret = lrpctest__probe__register(server, &h, NULL);
	if (!ret)
		ret = lrpctest_streams_register(server);
	for (unsigned int i = 0; i < nuri && !ret; i++) {
		ret = lrpc_server_listen(server, uri[i]);
		/* A minimal kernel (the RPAL test guest) may have no IPv4;
		 * tests of the other transports still run. */
		if (ret == -EAFNOSUPPORT && i >= 2)
			ret = 0;
	}
	if (!ret)
		ret = lrpc_server_start(server);
	if (ret) {
		fprintf(stderr, "probe server: %s\n", strerror(-ret));
		return 1;
	}
	signal(SIGTERM, on_term);
	for (unsigned int i = 0; i < nuri; i++)
		if (lrpc_server_listener_uri(server, i, uri[i], sizeof(uri[i])) == 0)
			printf("listen %s\n", uri[i]);
	printf("ready\n");
	fflush(stdout);
	lrpc_server_run(server);
	lrpc_server_free(server);
	return 0;
}

struct load {
	lrpc_channel *ch;
	unsigned int id;
	unsigned long calls;
	int failed;
};

static void *load_thread(void *arg)
{
	struct load *l = arg;
	unsigned char buf[64];

	for (unsigned long i = 0; i < l->calls && !l->failed; i++) {
		Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
		lrpc_status st;
		size_t n = 1 + (i * 7 + l->id) % sizeof(buf);

		/* Contents unique to (process, thread, call), so a reply
		 * delivered to the wrong caller cannot pass. */
		for (size_t k = 0; k < n; k++)
			buf[k] = (unsigned char)(getpid() + l->id * 31 + i + k);
		req.seq = ((uint64_t)getpid() << 40) | ((uint64_t)l->id << 32) | i;
		req.payload.data = buf;
		req.payload.len = n;
		if (lrpctest__probe__echo__call(l->ch, &req, &rep,
						lrpc_deadline_after_ms(10000),
						&st) != LRPC_OK) {
			fprintf(stderr, "call %lu: %s: %s\n", i,
				lrpc_code_name(st.code), st.message);
			l->failed = 1;
			break;
		}
		if (rep->seq != req.seq || rep->payload.len != n ||
		    memcmp(rep->payload.data, buf, n) != 0) {
			fprintf(stderr, "call %lu: reply does not match\n", i);
			l->failed = 1;
		}
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	}
	return NULL;
}

static int run_load(const char *uri, unsigned int nthreads, unsigned long calls)
{
	struct load l[64];
	pthread_t t[64];
	lrpc_channel *ch;
	int failed = 0;

	if (nthreads == 0 || nthreads > 64)
		return 2;
	if (lrpc_channel_open(uri, NULL, &ch) < 0)
		return 1;
	printf("calling\n"); /* for the kill storm: calls start now */
	fflush(stdout);
	for (unsigned int i = 0; i < nthreads; i++) {
		l[i] = (struct load){ .ch = ch, .id = i, .calls = calls };
		pthread_create(&t[i], NULL, load_thread, &l[i]);
	}
	for (unsigned int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		failed |= l[i].failed;
	}
	lrpc_channel_close(ch);
	return failed;
}

static int run_pingpong(const char *uri, unsigned long calls, size_t size)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
	unsigned char buf[4096] = { 0 };
	lrpc_deadline t0 = 0;
	lrpc_channel *ch;

	if (size > sizeof(buf) || calls < 2 ||
	    lrpc_channel_open(uri, NULL, &ch) < 0)
		return 1;
	req.payload.data = buf;
	req.payload.len = size;
	/* The first call is a warm-up: rpal-user's goes through the kernel. */
	for (unsigned long i = 0; i < calls; i++) {
		if (i == 1)
			t0 = lrpc_now();
		req.seq = i;
		if (lrpctest__probe__echo__call(ch, &req, &rep, 0, NULL) != LRPC_OK)
			return 1;
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	}
	printf("pingpong %lld %s\n",
	       (long long)((lrpc_now() - t0) / (int64_t)(calls - 1)),
	       lrpc_channel_handoff(ch));
	lrpc_channel_close(ch);
	return 0;
}

static int run_slow(const char *uri, bool until_cancelled)
{
	Lrpctest__SlowReq req = LRPCTEST__SLOW_REQ__INIT;
	Lrpctest__SlowReply *rep;
	lrpc_channel *ch;

	if (lrpc_channel_open(uri, NULL, &ch) < 0)
		return 1;
	req.tag = 42;
	req.until_cancelled = until_cancelled;
	printf("calling\n");
	fflush(stdout);
	if (lrpctest__probe__slow__call(ch, &req, &rep,
					lrpc_deadline_after_ms(60000), NULL) == LRPC_OK)
		lrpctest__slow_reply__free_unpacked(rep, NULL);
	lrpc_channel_close(ch);
	return 0;
}

/* How late a call may return past its deadline: scheduling on a loaded
 * machine, not a hang. */
#define LATE_NS 1000000000ll

static int run_storm(const char *uri, int64_t deadline_ms)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
	lrpc_channel *ch;
	lrpc_code code;

	if (lrpc_channel_open(uri, NULL, &ch) < 0)
		return 1;
	printf("calling\n");
	fflush(stdout);
	do {
		lrpc_deadline d = lrpc_deadline_after_ms(deadline_ms);

		code = lrpctest__probe__echo__call(ch, &req, &rep, d, NULL);
		if (lrpc_now() > d + LATE_NS) {
			fprintf(stderr, "a call returned %lld ms after its deadline\n",
				(long long)((lrpc_now() - d) / 1000000));
			return 3;
		}
		if (code == LRPC_OK)
			lrpctest__echo_msg__free_unpacked(rep, NULL);
		req.seq++;
	} while (code == LRPC_OK);
	lrpc_channel_close(ch);
	return code == LRPC_UNAVAILABLE || code == LRPC_DEADLINE_EXCEEDED ? 0 : 4;
}

static int run_fail(const char *uri, unsigned int code, const char *message)
{
	Lrpctest__FailReq req = LRPCTEST__FAIL_REQ__INIT;
	Lrpctest__Empty *rep;
	lrpc_channel *ch;
	lrpc_status st;
	lrpc_code got;

	if (lrpc_channel_open(uri, NULL, &ch) < 0)
		return 1;
	req.code = code;
	req.message = (char *)message;
	got = lrpctest__probe__fail__call(ch, &req, &rep,
					  lrpc_deadline_after_ms(10000), &st);
	if (got == LRPC_OK)
		lrpctest__empty__free_unpacked(rep, NULL);
	lrpc_channel_close(ch);
	if (got != (lrpc_code)code ||
	    (code && strcmp(message, "*") && strcmp(st.message, message))) {
		fprintf(stderr, "fail: got %s \"%s\"\n", lrpc_code_name(got),
			st.message);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "server"))
		return run_server(argv[2], (unsigned int)atoi(argv[3]),
				  (size_t)atol(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "load"))
		return run_load(argv[2], (unsigned int)atoi(argv[3]),
				(unsigned long)atol(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "slow-until-cancelled"))
		return run_slow(argv[2], true);
	if (argc == 3 && !strcmp(argv[1], "slow"))
		return run_slow(argv[2], false);
	if (argc == 5 && !strcmp(argv[1], "fail"))
		return run_fail(argv[2], (unsigned int)atoi(argv[3]), argv[4]);
	if (argc == 5 && !strcmp(argv[1], "pingpong"))
		return run_pingpong(argv[2], (unsigned long)atol(argv[3]),
				    (size_t)atol(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "storm"))
		return run_storm(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: probe server NAME ... | load URI ... | slow URI | "
		"storm URI MS | fail URI CODE MESSAGE | pingpong URI CALLS SIZE\n");
	return 2;
}
