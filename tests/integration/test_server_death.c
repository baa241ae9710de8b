// SPDX-License-Identifier: MIT
/* The server is SIGKILLed with calls in flight and calls queued. */
#include <pthread.h>
#include <signal.h>

#include "harness.h"
#include "probe.lrpc.h"

struct caller {
	lrpc_channel *ch;
	int slow;
	lrpc_code code;
};

static void *call_thread(void *arg)
{
	struct caller *c = arg;

	if (c->slow) {
		Lrpctest__SlowReq req = LRPCTEST__SLOW_REQ__INIT;
		Lrpctest__SlowReply *rep = NULL;

		c->code = lrpctest__probe__slow__call(c->ch, &req, &rep,
						      lrpc_deadline_after_ms(60000), NULL);
		if (rep)
			lrpctest__slow_reply__free_unpacked(rep, NULL);
	} else {
		Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;

		c->code = lrpctest__probe__echo__call(c->ch, &req, &rep,
						      lrpc_deadline_after_ms(60000), NULL);
		if (rep)
			lrpctest__echo_msg__free_unpacked(rep, NULL);
	}
	return NULL;
}

START_TEST(server_killed_mid_call)
{
	struct caller c[3];
	pthread_t t[3];
	struct peer srv;
	lrpc_channel *ch;
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	lrpc_status st;

	h_dir_setup();
	h_probe_server(&srv, "victim", "2", NULL);
	ch = h_open(&srv);
	/* Two calls occupy both receivers; over lrpc:// the third waits for a
	 * lane, over sockets it is one more call in flight. */
	for (int i = 0; i < 3; i++) {
		c[i] = (struct caller){ .ch = ch, .slow = 1, .code = -1 };
		pthread_create(&t[i], NULL, call_thread, &c[i]);
		if (i < 2)
			ck_assert(h_expect(&srv, "slow-enter", 10000));
	}
	h_kill(&srv, SIGKILL);
	/* UNAVAILABLE, not DEADLINE_EXCEEDED: each returned well before its
	 * 60 s deadline, which is also the test's timeout. */
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(c[i].code == LRPC_UNAVAILABLE, "call %d: %s", i,
			      lrpc_code_name(c[i].code));
	}
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st),
			 LRPC_UNAVAILABLE);
	ck_assert_ptr_null(rep);
	lrpc_channel_close(ch);
}
END_TEST

H_MAIN("server_death", 60, server_killed_mid_call)
