// SPDX-License-Identifier: MIT
/* A handler learns who called: credentials over lrpc:// and unix://, the
 * address over tcp:// (lrpc_call_peer()). */
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"

START_TEST(handler_sees_the_caller)
{
	Lrpctest__Empty req = LRPCTEST__EMPTY__INIT;
	Lrpctest__PeerReply *rep = NULL;
	const char *t = h_transport();
	struct peer srv;
	lrpc_channel *ch;
	lrpc_status st;

	h_dir_setup();
	h_probe_server(&srv, "whoami", "1", NULL);
	ch = h_open(&srv);
	ck_assert_msg(lrpctest__probe__peer__call(ch, &req, &rep, 0, &st) == LRPC_OK,
		      "%s", st.message);
	ck_assert_str_eq(rep->transport, strcmp(t, "unix-inline") ? t : "unix");
	if (!strcmp(t, "tcp")) {
		ck_assert_int_eq(rep->has_cred, 0);
		ck_assert_msg(!strncmp(rep->address, "127.0.0.1:", 10), "%s", rep->address);
	} else {
		/* From the kernel at connect time: this very process. */
		ck_assert_int_eq(rep->has_cred, 1);
		ck_assert_int_eq(rep->pid, getpid());
		ck_assert_uint_eq(rep->uid, geteuid());
		ck_assert_uint_eq(rep->gid, getegid());
		ck_assert_str_eq(rep->address, "");
	}
	lrpctest__peer_reply__free_unpacked(rep, NULL);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("peer", 60, handler_sees_the_caller)
