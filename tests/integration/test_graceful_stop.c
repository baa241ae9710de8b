// SPDX-License-Identifier: MIT
/* Stopping a server lets the calls in progress finish and reply, and ends
 * even while a client calls without a pause. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
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

/* Echo calls back to back until one fails. */
struct caller {
	lrpc_channel *ch;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int done; /* calls answered */
	lrpc_code last;    /* the code that ended the run */
	char why[LRPC_STATUS_MSG_MAX];
};

static void *call_loop(void *arg)
{
	struct caller *k = arg;
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;
	lrpc_code code;

	do {
		req.seq++;
		Lrpctest__EchoMsg *rep = NULL;
		lrpc_status st = { 0 };

		code = lrpctest__probe__echo__call(k->ch, &req, &rep,
						   lrpc_deadline_after_ms(30000), &st);
		if (rep)
			lrpctest__echo_msg__free_unpacked(rep, NULL);
		pthread_mutex_lock(&k->lock);
		k->done++;
		k->last = code;
		snprintf(k->why, sizeof(k->why), "%s", st.message);
		pthread_cond_broadcast(&k->cond);
		pthread_mutex_unlock(&k->lock);
	} while (code == LRPC_OK);
	return NULL;
}

/* A receiver sees the stop between two calls of a client that never
 * pauses (rpal-kernel once noticed it only when a wait timed out, and
 * such a client kept its waits from ever doing so), and the call it then
 * refuses fails UNAVAILABLE, never with a reply that is not its own. */
START_TEST(back_to_back_calls_do_not_hold_the_stop)
{
	struct caller k = { .last = LRPC_OK };
	struct peer srv;
	pthread_t t;
	int status;

	h_dir_setup();
	h_probe_server(&srv, "graceful", "1", NULL);
	k.ch = h_open(&srv);
	pthread_mutex_init(&k.lock, NULL);
	pthread_cond_init(&k.cond, NULL);
	ck_assert_int_eq(pthread_create(&t, NULL, call_loop, &k), 0);
	pthread_mutex_lock(&k.lock);
	while (k.done == 0)
		pthread_cond_wait(&k.cond, &k.lock);
	pthread_mutex_unlock(&k.lock);
	kill(srv.pid, SIGTERM);
	status = h_wait(&srv, 20000);
	ck_assert_msg(status != -1, "the server did not stop while called");
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pthread_join(t, NULL);
	ck_assert_msg(k.last == LRPC_UNAVAILABLE, "calls ended %s: %s",
		      lrpc_code_name(k.last), k.why);
	pthread_cond_destroy(&k.cond);
	pthread_mutex_destroy(&k.lock);
	lrpc_channel_close(k.ch);
}
END_TEST

H_MAIN("graceful_stop", 60, call_in_progress_gets_its_reply,
       back_to_back_calls_do_not_hold_the_stop)
