// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * kill -9 of the receiver's process while the sender runs a handler that
 * makes no system call (K2.6). A dies with the handler still spinning on
 * B; when A's memory goes, the handler's next access faults on B, and
 * the fault, in the code of a receiver that is gone, lands B at its own
 * continuation: the call returns -ECONNRESET with B's TLS, MXCSR and
 * control word, and B lives. Before K2.6 B died of the SIGSEGV.
 */
#include "rpal_ucall_spin.h"

#define SELF "/tests/rpal_ucall_spin_kill_receiver"
#define B_TLS 0xb0b000u

struct ctl {
	struct ucall_ctl u;
	pid_t a_pid;
	int started;
};

static struct ctl *ctl;
static __thread uint64_t tls_mark;

static void owner(void)
{
	ctl->a_pid = getpid();
	spin_owner_start(&ctl->u, &ctl->started, NULL, NULL);
	/* Until B's helper kills A. */
	for (;;)
		pause();
}

/* B's second thread, no sender: kill A once the handler runs on B. */
static void *killer(void *arg)
{
	(void)arg;
	pin_to(0);
	while (!__atomic_load_n(&ctl->started, __ATOMIC_ACQUIRE))
		sched_yield();
	CHECK_OK(kill(ctl->a_pid, SIGKILL));
	return NULL;
}

static void importer(void)
{
	uint32_t mxcsr = get_mxcsr(), fpucw = get_fpucw();
	struct rpal_uctx *recv;
	rpal_call_fn call;
	pthread_t t;
	long ret;

	tls_mark = B_TLS;
	recv = spin_importer_start(&ctl->u, &call);
	ucall_wait_ready(&ctl->u, recv);
	CHECK(pthread_create(&t, NULL, killer, NULL) == 0);
	ret = call(&b_uctx, recv, 1);
	if (ret != -ECONNRESET)
		FAIL("a call whose receiver was killed: %ld, want %d", ret,
		     -ECONNRESET);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(b_uctx.state == RPAL_SENDER_RUNNING);
	CHECK(tls_mark == B_TLS);
	CHECK(get_mxcsr() == mxcsr && get_fpucw() == fpucw);
}

int main(int argc, char **argv)
{
	ucall_main_expect(argc, argv, SELF, &rpal_fd, (void **)&ctl,
			  sizeof(*ctl), owner, importer, 128 + SIGKILL, 0);
	return T_PASS;
}
