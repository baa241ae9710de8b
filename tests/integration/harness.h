/* SPDX-License-Identifier: MIT */
/*
 * Integration-test plumbing: start real processes, read what they print,
 * wait for them with a deadline (pidfd + poll, never sleep), and give each
 * test its own runtime directory.
 */
#ifndef LRPC_TEST_HARNESS_H
#define LRPC_TEST_HARNESS_H

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include <lazyrpc/lazyrpc.h>

struct peer {
	pid_t pid;
	int pidfd;
	int out; /* the child's stdout */
	char buf[8192];
	size_t len;
	char uri[300]; /* probe servers: the URI of the transport under test */
};

/* A fresh LAZYRPC_DIR for this test; the path is returned. */
const char *h_dir_setup(void);

/* Path of a helper binary, from environment variable \p var set by meson. */
const char *h_bin(const char *var);

/* Start argv[0] with stdout piped to us. Aborts the test on failure. */
void h_spawn(struct peer *p, char *const argv[]);
/* The same as uid (and gid) \p uid, unless it is (uid_t)-1. */
void h_spawn_as(struct peer *p, char *const argv[], uid_t uid);
/* The same with exactly the supplementary groups \p groups (\p n of them). */
void h_spawn_creds(struct peer *p, char *const argv[], uid_t uid,
		   const gid_t *groups, int n);
/* In a forked child (root): become \p uid with primary group \p uid and
 * exactly \p groups. \return 0, -1. */
int h_become(uid_t uid, const gid_t *groups, int n);

/* Read lines until one starts with \p prefix. \return true if seen in time. */
bool h_expect(struct peer *p, const char *prefix, int timeout_ms);

/* The same, copying what follows the line's first space into \p rest. */
bool h_expect_line(struct peer *p, const char *prefix, char *rest,
		   size_t rest_len, int timeout_ms);

/* Wait for exit. \return the wait status, or -1 (child killed) on timeout. */
int h_wait(struct peer *p, int timeout_ms);

/* Send \p sig and reap. */
void h_kill(struct peer *p, int sig);

/*
 * fork() for a child that uses the runtime itself (a client or a server of
 * the test's own code). A fork child has no RPAL slot, so in a run over a
 * hand-off that needs one (run in slots, harness.c) the child does not ask
 * for it: it takes the best hand-off it has, and its peers fall back to
 * that, the handshake's fallback at work.
 */
pid_t h_fork(void);

/* The hand-off to ask for (lrpc_channel_opts.handoff) on a channel to a
 * server that h_fork() started: in a run in slots "futex", which both
 * sides have (this side's LAZYRPC_HANDOFF rules out rpal-kernel), else
 * NULL (LAZYRPC_HANDOFF's). */
const char *h_forked_peer_handoff(void);

/* The transport under test: $LRPC_TEST_TRANSPORT, "lrpc" (default),
 * "unix" or "tcp". Each integration test runs once per transport. */
const char *h_transport(void);

/* An address for an in-process server named \p name on the transport
 * under test (lrpc://NAME-PID, a socket in $LAZYRPC_DIR, or a free port
 * on 127.0.0.1); after listening, lrpc_server_listener_uri() has the
 * real one. */
void h_listen_uri(char *uri, size_t len, const char *name);

/* Whether this kernel has IPv4 (the RPAL test guest's has none). */
bool h_have_ipv4(void);

/* Start the probe server "NAME" (listening on every transport) and wait
 * for it; p->uri is its address on the transport under test. */
void h_probe_server(struct peer *p, const char *name, const char *receivers,
		    const char *max_msg);

/* Open p->uri of a probe server, or fail the test. */
lrpc_channel *h_open(const struct peer *srv);
lrpc_channel *h_open_opts(const struct peer *srv, const lrpc_channel_opts *o);

/* The probe server's counters, by a Stats call on \p ch (fails the test
 * otherwise); free with lrpctest__stats_reply__free_unpacked. */
struct Lrpctest__StatsReply *h_stats(lrpc_channel *ch);

/* An Echo call of \p seq through \p ch with \p ms to go; on OK the reply
 * must carry seq back (fails the test otherwise). \p st may be NULL. */
lrpc_code h_echo(lrpc_channel *ch, uint64_t seq, int64_t ms, lrpc_status *st);

/* Start an in-process server serving lrpctest.Probe with \p h (static)
 * and the streams of streams.h, listening on the transport under test
 * (h_listen_uri(\p name)) in a fresh LAZYRPC_DIR; \p uri gets its real
 * address. Fails the test otherwise. */
struct Lrpctest__Probe_Handlers;
lrpc_server *h_server_start(char *uri, size_t len, const char *name,
			    const struct Lrpctest__Probe_Handlers *h);
/* The same with server options \p o (NULL: the defaults). */
lrpc_server *h_server_start_opts(char *uri, size_t len, const char *name,
				 const struct Lrpctest__Probe_Handlers *h,
				 const lrpc_server_opts *o);

/* Do \p ch's asynchronous unary calls run on its pool of threads
 * (client/async_pool.c) rather than the transport's own path? Over
 * rpal-kernel, and over lrpc:// where futex_waitv is missing (or
 * LAZYRPC_FUTEX_WAITV=0 says so). The pool cannot tell the server of a
 * cancel. */
bool h_async_pooled(const lrpc_channel *ch);

/* What the metadata tests' Echo handlers answer beside the reply: x-trace
 * back as header x-trace-echo, x-blob-bin as trailer x-blob-echo-bin,
 * and a trailer x-n "2". \return 0, or -1 (the handler fails INTERNAL). */
int h_echo_metadata(lrpc_call *call);

/* Run \p tests as one Check test case, each in its own process; over
 * lrpc://, once per hand-off (SKIP for those this machine lacks). */
int h_run(const char *name, const TTest *const tests[], int ntests,
	  int timeout_s);

#define H_MAIN(name, timeout_s, ...)                                     \
	int main(void)                                                    \
	{                                                                 \
		const TTest *const t[] = { __VA_ARGS__ };                 \
		return h_run(name, t, (int)(sizeof(t) / sizeof(t[0])),    \
			     timeout_s);                                  \
	}

#endif
