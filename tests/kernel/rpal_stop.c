// SPDX-License-Identifier: MIT
/*
 * A waiting receiver and a caller blocked in a call stop and continue:
 * with SIGSTOP/SIGCONT, then under ptrace (PTRACE_SEIZE, PTRACE_INTERRUPT,
 * PTRACE_CONT) of the caller and of the waiting receiver thread. The wait restarts rather than failing and the call then
 * completes with success.
 */
// ktest: timeout=60
#include <sys/ptrace.h>
#include "rpal_pair.h"

static void stop_cont(pid_t pid)
{
	int status;

	CHECK_OK(kill(pid, SIGSTOP));
	CHECK(waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status));
	CHECK_OK(kill(pid, SIGCONT));
	CHECK(waitpid(pid, &status, WCONTINUED) == pid && WIFCONTINUED(status));
}

static void trace_stopped(pid_t tid)
{
	int status;

	CHECK_OK(ptrace(PTRACE_INTERRUPT, tid, 0, 0));
	CHECK(waitpid(tid, &status, __WALL) == tid && WIFSTOPPED(status));
	CHECK(status >> 16 == PTRACE_EVENT_STOP);
}

/* Trace one thread: interrupt, continue, interrupt, detach. */
static void trace_stop(pid_t tid)
{
	CHECK_OK(ptrace(PTRACE_SEIZE, tid, 0, 0));
	trace_stopped(tid);
	CHECK_OK(ptrace(PTRACE_CONT, tid, 0, 0));
	trace_stopped(tid);
	CHECK_OK(ptrace(PTRACE_DETACH, tid, 0, 0));
}

int main(void)
{
	rpal_open();
	pair_start();

	/* SIGSTOP: the blocked caller, then the waiting receivers. */
	pair_block_caller();
	stop_cont(pair->c);
	stop_cont(pair->r);
	pair_release_caller();
	pair_call_idle();

	/* ptrace: the same. */
	pair_block_caller();
	trace_stop(pair->c);
	trace_stop(pair->rtid[0]);
	pair_release_caller();
	pair_call_idle();

	pair_end();
	return T_PASS;
}
