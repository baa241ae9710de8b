// SPDX-License-Identifier: MIT
/* Stopping a server lets the calls in progress finish and reply. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "harness.h"
#include "probe.lrpc.h"

struct slow_call {
	lrpc_channel *ch;
	lrpc_code code;
	uint32_t tag;
};

static void *slow_thread(void *arg)
{
	struct slow_call *c = arg;
	Lrpctest__SlowReq req = LRPCTEST__SLOW_REQ__INIT;
	Lrpctest__SlowReply *rep = NULL;

	req.tag = 77;
	req.hold_ms = 500;
	c->code = lrpctest__probe__slow__call(c->ch, &req, &rep,
					      lrpc_deadline_after_ms(30000), NULL);
	if (rep) {
		c->tag = rep->tag;
		lrpctest__slow_reply__free_unpacked(rep, NULL);
	}
	return NULL;
}

START_TEST(call_in_progress_gets_its_reply)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	struct slow_call c = { .code = -1 };
	struct peer srv;
	pthread_t t;
	int status;

	h_dir_setup();
	h_probe_server(&srv, "graceful", "2", NULL);
	c.ch = h_open(&srv);
	pthread_create(&t, NULL, slow_thread, &c);
	ck_assert(h_expect(&srv, "slow-enter", 10000));
	kill(srv.pid, SIGTERM);
	pthread_join(t, NULL);
	ck_assert_msg(c.code == LRPC_OK, "in-flight call: %s", lrpc_code_name(c.code));
	ck_assert_uint_eq(c.tag, 77);
	status = h_wait(&srv, 10000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Once stopped, the server takes no more calls. */
	ck_assert_int_eq(lrpctest__probe__echo__call(c.ch, &req, &rep,
						     lrpc_deadline_after_ms(5000), NULL),
			 LRPC_UNAVAILABLE);
	lrpc_channel_close(c.ch);
}
END_TEST

H_MAIN("graceful_stop", 60, call_in_progress_gets_its_reply)
