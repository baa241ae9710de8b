// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * A user-mode call (K2.4): B calls R's handler through __vdso_rpal_call()
 * and gets its reply, with no kernel entry on the way.
 *
 * - the reply is the handler's return value, in B's context, and the stub
 *   returns 0; the handler ran once per call;
 * - R's word moves WAIT -> CALL (with B's service and sender id, as the
 *   handler sees it) -> WAIT, B's word RUNNING -> CALL (with A's service
 *   and R's id) -> RUNNING;
 * - the handler runs in R's context: on R's handler stack, with R's TLS
 *   and R's MXCSR and x87 control word, and the cpu id in R's rseq area
 *   is the CPU B runs on (R sleeps pinned to CPU 0, B runs on CPU 1);
 * - B's TLS, MXCSR and control word are B's own afterwards.
 */
#include "rpal_ucall.h"

#define SELF "/tests/rpal_ucall"
#define A_TLS 0xa11ce000u
#define B_TLS 0xb0b000u
#define R_MXCSR (0x1f80u | 0x6000u)	/* round toward zero */
#define R_FPUCW (0x037fu | 0x0c00u)

struct obs {
	uint32_t word, peer_word;
	uint64_t tls, sp, arg;
	int64_t rseq_cpu;
	uint32_t mxcsr;
	uint16_t fpucw;
	int calls;
};

struct ctl {
	struct ucall_ctl u;
	uint32_t id_a, id_b;
	struct obs obs;
};

static int rpal_fd;
static struct ctl *ctl;
static __thread uint64_t tls_mark;
static struct rpal_uctx r_uctx __attribute__((aligned(128)));
static struct rpal_uctx b_uctx __attribute__((aligned(128)));

/* Runs on B's thread as R: memory only, no system call. */
static unsigned long handler(struct rpal_uctx *self, unsigned long arg)
{
	struct obs *o = &ctl->obs;
	struct rseq *rs = (struct rseq *)(uintptr_t)self->rseq;
	volatile char here;

	o->word = self->state;
	o->peer_word = ((struct rpal_uctx *)(uintptr_t)self->peer)->state;
	o->tls = tls_mark;
	o->sp = (uintptr_t)&here;
	o->arg = self->arg;
	o->rseq_cpu = rs ? (int64_t)rs->cpu_id : -1;
	o->mxcsr = get_mxcsr();
	o->fpucw = get_fpucw();
	o->calls++;
	return arg * 3 + 1;
}

static void r_setup(void)
{
	tls_mark = A_TLS;
}

static void owner(void)
{
	struct ucall_recv r = {
		.ctl = &ctl->u, .uctx = &r_uctx, .handler = handler,
		.setup = r_setup, .mxcsr = R_MXCSR, .fpucw = R_FPUCW,
	};

	ucall_owner_start(rpal_fd, &r);
	step_wait(&ctl->u.step, 1);
}

static void importer(void)
{
	uint32_t mxcsr = get_mxcsr(), fpucw = get_fpucw(), me, w;
	struct rpal_uctx *recv;
	struct rseq *rrs;
	rpal_call_fn call;
	unsigned long i;
	long ret;

	tls_mark = B_TLS;
	ctl->id_a = ucall_importer_start(rpal_fd, &ctl->u, &b_uctx);
	recv = ucall_lookup(rpal_fd, ctl->id_a, ctl->u.rid, &call);
	/* The lookup wrote B's ids into its context. */
	me = snd(b_uctx.ids);
	CHECK(me != 0);
	ucall_wait_ready(&ctl->u, recv);
	/* glibc registers every thread's rseq area (2.35 and later). */
	rrs = (struct rseq *)(uintptr_t)recv->rseq;
	CHECK(rrs && b_uctx.rseq);
	CHECK(rrs->cpu_id == 0);

	for (i = 1; i <= 3; i++) {
		CHECK(b_uctx.state == RPAL_SENDER_RUNNING);
		ret = call(&b_uctx, recv, i * 1000);
		if (ret)
			FAIL("call %lu: %ld", i, ret);
		if (b_uctx.arg != i * 3000 + 1)
			FAIL("call %lu: reply %llu", i,
			     (unsigned long long)b_uctx.arg);
		CHECK(ctl->obs.calls == (int)i);
		CHECK(ctl->obs.arg == i * 1000);

		w = ctl->obs.word;
		if (st(w) != RPAL_RECEIVER_CALL || snd(w) != me ||
		    sid(w) != sid(b_uctx.ids))
			FAIL("R's word in the handler: %#x, want CALL from %u/%u",
			     w, sid(b_uctx.ids), me);
		w = ctl->obs.peer_word;
		if (st(w) != RPAL_SENDER_CALL || snd(w) != ctl->u.rid ||
		    sid(w) != ctl->id_a)
			FAIL("B's word in the handler: %#x, want CALL of %u/%u",
			     w, ctl->id_a, ctl->u.rid);
		CHECK(st(recv->state) == RPAL_RECEIVER_WAIT &&
		      recv->state == RPAL_RECEIVER_WAIT);
		CHECK(b_uctx.state == RPAL_SENDER_RUNNING);

		if (ctl->obs.tls != A_TLS)
			FAIL("TLS in the handler: %#llx, want R's",
			     (unsigned long long)ctl->obs.tls);
		if (ctl->obs.sp >= recv->rsp ||
		    ctl->obs.sp < recv->rsp - UCALL_STACK)
			FAIL("handler's stack at %#llx, R's ends at %#llx",
			     (unsigned long long)ctl->obs.sp,
			     (unsigned long long)recv->rsp);
		if (ctl->obs.mxcsr != R_MXCSR || ctl->obs.fpucw != R_FPUCW)
			FAIL("handler's MXCSR %#x CW %#x, want R's %#x %#x",
			     ctl->obs.mxcsr, ctl->obs.fpucw, R_MXCSR,
			     R_FPUCW);
		if (ctl->obs.rseq_cpu != 1)
			FAIL("R's rseq cpu id in the handler: %lld, B runs on 1",
			     (long long)ctl->obs.rseq_cpu);

		CHECK(tls_mark == B_TLS);
		CHECK(get_mxcsr() == mxcsr && get_fpucw() == fpucw);
	}
	step_set(&ctl->u.step, 1);
}

int main(int argc, char **argv)
{
	ucall_main(argc, argv, SELF, &rpal_fd, (void **)&ctl, sizeof(*ctl),
		   owner, importer);
	return T_PASS;
}
