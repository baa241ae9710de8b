// SPDX-License-Identifier: MIT
/*
 * Each transport has its own client limits: socket connections do not
 * count against lrpc://'s max_clients, and lrpc:// still has its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "rawframe.h"

#define LRPC_MAX_CLIENTS 64 /* the default */
#define SOCK_CONNS 64 /* of each kind: together twice lrpc://'s limit */

/* Start the probe server NAME and note its unix:// and tcp:// addresses
 * (tcp "" when this kernel has no IPv4). */
static void probe_all(struct peer *srv, const char *name, char *unix_uri,
		      char *tcp_uri, size_t len)
{
	char *argv[] = { (char *)h_bin("LRPC_PROBE"), "server", (char *)name,
			 "1", "0", NULL };

	h_spawn(srv, argv);
	ck_assert(h_expect_line(srv, "listen unix://", unix_uri, len, 10000));
	tcp_uri[0] = '\0';
	if (h_have_ipv4())
		ck_assert(h_expect_line(srv, "listen tcp://", tcp_uri, len, 10000));
	ck_assert(h_expect(srv, "ready", 10000));
}

START_TEST(socket_peers_do_not_lock_out_lrpc)
{
	char uuri[300], turi[300];
	struct peer srv;
	int fds[2 * SOCK_CONNS], nfds = 0;
	lrpc_channel *ch[LRPC_MAX_CLIENTS + 1];
	lrpc_channel_opts o;
	lrpc_status st;

	h_dir_setup();
	probe_all(&srv, "limits", uuri, turi, sizeof(uuri));
	/* Idle socket peers, more than lrpc://'s limit, of each kind. */
	for (int i = 0; i < SOCK_CONNS; i++) {
		fds[nfds++] = raw_connect(uuri);
		if (turi[0])
			fds[nfds++] = raw_connect(turi);
	}
	/* Each is accepted before lrpc:// clients come: one call on the
	 * last of each kind goes through the server's loop after them. */
	for (int i = nfds - (turi[0] ? 2 : 1); i < nfds; i++) {
		unsigned char body[16];
		uint32_t code, len;
		uint64_t id;

		raw_echo(fds[i], 1, 5);
		ck_assert(raw_reply(fds[i], &code, &id, body, sizeof(body), &len));
		ck_assert_uint_eq(code, LRPC_OK);
	}
	/* lrpc:// clients are still admitted, up to their own limit. */
	for (int i = 0; i < LRPC_MAX_CLIENTS; i++) {
		int ret = lrpc_channel_open("lrpc://limits", NULL, &ch[i]);

		ck_assert_msg(ret == 0, "lrpc:// client %d: %s", i, strerror(-ret));
	}
	/* The refusal says which limit it was. */
	lrpc_channel_opts_init(&o);
	o.open_status = &st;
	ck_assert_int_eq(lrpc_channel_open("lrpc://limits", &o,
					   &ch[LRPC_MAX_CLIENTS]), -EAGAIN);
	ck_assert_int_eq(st.code, LRPC_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(st.message, "max_clients"), "'%s'", st.message);
	for (int i = 0; i < LRPC_MAX_CLIENTS; i++)
		lrpc_channel_close(ch[i]);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("limits", 60, socket_peers_do_not_lock_out_lrpc)
