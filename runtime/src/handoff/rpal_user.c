// SPDX-License-Identifier: MIT
/*
 * The rpal-user hand-off (RPAL stage K2, kernel/README.md "The user-mode
 * call"): the client's thread runs the server's receiver code itself,
 * through __vdso_rpal_call(), with no kernel entry; a system call in that
 * code is handed to the receiver thread by the kernel (the lazy switch)
 * and made by it, as the server.
 *
 * It is rpal-kernel (rpal_kernel.c) plus that fast path, so everything a
 * user-mode call cannot do goes through the kernel as there: both
 * processes are RPAL services, and each receiver is a K1 receiver that
 * waits in RPAL_IOC_WAIT, armed for user-mode calls (RPAL_IOC_UCALL_ARM)
 * with a handler in this file, a handler stack of its own (mapped in the
 * server's slot) and the receiver thread's TLS.
 *
 * Both processes must have been started in slots (lazyrpc-exec). Sharing
 * a slot takes a request each way: the client's hello carries its key as
 * well as its id, the server requests the client at the handshake and the
 * client requests the server on attach, as for rpal-kernel. The server
 * then lets the client import its slot (RPAL_IOC_SHARE_SLOT) when a
 * receiver takes the client's first call, which is a kernel call; the
 * client imports the slot after that call and makes the next ones in user
 * mode. Stream opens stay kernel calls: a stream's receiver answers the
 * open and runs on, which a handler on the caller's thread cannot do.
 *
 * The call buffers stay in the client's region (the lanes): the handler
 * reads the request from the server's own mapping of it and writes the
 * reply there, and touches nothing of the client's.
 *
 * A receiver waits with no timeout. A user-mode call leaves the receiver's
 * wait alone, and a wait that ended mid-call (a timeout, a signal) would
 * leave the handler's system calls to the caller's process; so a stop
 * cannot be noticed at a timeout as rpal-kernel does. It is delivered
 * instead: kick() has a thread of ours make a kernel call to the
 * receiver (our service requests itself for it), which returns from its
 * wait and sees the stop; calls in user mode see it in the handler.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <time.h>

#include <linux/rpal.h>

#include "handoff/handoff.h"
#include "handoff/rpal_kernel.h"
#include "wire/lane.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

/* The handler's answer, in the caller's context (self->arg). */
enum { RUSER_SERVED = 1, RUSER_STOPPED, RUSER_REFUSED };

/* Handler stacks: the server's request handlers run on them. */
#define HANDLER_STACK (1024 * 1024)

#define STREAM_FLAGS (LRPC__CALL_STREAM | LRPC__CALL_STREAM_MD)

typedef long (*ucall_fn)(struct rpal_uctx *self, struct rpal_uctx *recv,
			 unsigned long arg);

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool kernel_ok; /* user-mode calls on this kernel and CPU */
static bool in_slot;   /* this process lives in a slot (no fork child does) */
static _Atomic(ucall_fn) stub;

/* The client thread has looked a receiver up: its context holds its ids. */
static __thread bool looked_up;

/*
 * One receiver. The context comes first so that the handler finds the
 * rest from the context the stub passes it. Never freed: a client may
 * still hold its address; a retired one has rip and ids 0, which the stub
 * refuses (EINVAL), and is reused by the next receiver.
 */
struct ruser_recv {
	alignas(128) struct rpal_uctx ctx;
	struct lrpc__hrecv *r;
	void *stack;
	uint32_t kernel_id;
	uint32_t client_peer; /* our grant of the client: sharing needs it */
	uint64_t client_key;
	bool shared;
	int kicked; /* under kick_lock */
	struct ruser_recv *next;
};

static pthread_mutex_t kick_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick_cond = PTHREAD_COND_INITIALIZER;
static struct ruser_recv *live;    /* receivers that may be kicked */
static struct ruser_recv *retired; /* for reuse */
static bool waker_started;

static void fork_prepare(void)
{
	pthread_mutex_lock(&kick_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&kick_lock);
}

static void fork_child(void)
{
	/* A fork child has no slot, no service and no waker thread. */
	in_slot = false;
	waker_started = false;
	live = NULL;
	fork_parent();
}

/* Does the vDSO export the stub? (A kernel with the ioctls but no stub in
 * this vDSO, 32-bit or without FSGSBASE, refuses to arm.) */
static bool vdso_has_stub(void)
{
	const char *base = (const char *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Shdr *sh;

	if (!base || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64)
		return false;
	sh = (const Elf64_Shdr *)(base + eh->e_shoff);
	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym;
		const char *str;

		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum)
			continue;
		sym = (const Elf64_Sym *)(base + sh[i].sh_offset);
		str = base + sh[sh[i].sh_link].sh_offset;
		for (size_t j = 0; j < sh[i].sh_size / sizeof(*sym); j++)
			if (!strcmp(str + sym[j].st_name, "__vdso_rpal_call"))
				return true;
	}
	return false;
}

static void probe(void)
{
	int fd = lrpc__rpal_fd();
	int slot;

	if (fd < 0 || !(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) ||
	    !vdso_has_stub())
		return;
	slot = ioctl(fd, RPAL_IOC_GET_SLOT);
	if (slot < 0)
		return; /* a K1 kernel: ENOTTY */
	if (pthread_atfork(fork_prepare, fork_parent, fork_child))
		return;
	kernel_ok = true;
	in_slot = slot > 0;
}

static bool ruser_probe_in_slot(void)
{
	pthread_once(&probe_once, probe);
	return kernel_ok;
}

static bool ruser_probe(void)
{
	return ruser_probe_in_slot() && in_slot;
}

/* This thread's TLS (the TCB points to itself at %fs:0). */
static uintptr_t thread_pointer(void)
{
	uintptr_t fs;

	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs));
	return fs;
}

/* This thread's struct rseq, 0 if glibc registered none. */
static uintptr_t rseq_area(void)
{
	return __rseq_size ? thread_pointer() + (uintptr_t)__rseq_offset : 0;
}

static uint64_t hello_key(const struct lrpc__hello *h)
{
	return h->handoff_key[0] | (uint64_t)h->handoff_key[1] << 32;
}

static int ruser_offer(uint32_t *id, uint64_t *key)
{
	if (!ruser_probe())
		return -ENODEV;
	return lrpc__rpal_self(id, key);
}

/* The request is only checked here; each receiver holds one of its own
 * (recv_start), for the share it makes. */
static int ruser_accept(struct lrpc__hconn *c, const struct lrpc__hello *h,
			struct lrpc__welcome *w)
{
	uint64_t key = hello_key(h);
	uint32_t peer;

	if (!ruser_probe() || !h->handoff_id || !key)
		return -EPROTONOSUPPORT;
	if (lrpc__rpal_self(&w->handoff_id, &w->handoff_key) < 0)
		return -EPROTONOSUPPORT;
	/* A client we may not ptrace is refused here (EACCES), and may still
	 * get rpal-kernel, which needs no request of ours. */
	if (lrpc__rpal_request(key, &peer) < 0)
		return -EPROTONOSUPPORT;
	lrpc__rpal_release(peer, key);
	/* The key is what names the client; an id that is not its key's is
	 * a hello that lied. */
	if (peer != h->handoff_id)
		return -EPROTONOSUPPORT;
	c->client_id = peer;
	c->client_key = key;
	return 0;
}

/* Client: receivers' contexts by kernel id, looked up once each. */
struct ruser_client {
	_Atomic int imported; /* 0 not yet, 1 yes, -1 never (kernel calls) */
	uint32_t mask;
	_Atomic uint64_t slots[]; /* id << 48 | context address; 0 empty */
};

static int ruser_attach(struct lrpc__hclient *c, const struct lrpc__welcome *w)
{
	struct ruser_client *uc;
	uint32_t n = 2;
	int ret;

	while (n < 2 * w->nlanes && n < 4 * LRPC__MAX_LANES)
		n *= 2;
	uc = calloc(1, sizeof(*uc) + n * sizeof(uc->slots[0]));
	if (!uc)
		return -ENOMEM;
	uc->mask = n - 1;
	ret = lrpc__handoff_rpal_kernel.attach(c, w);
	if (ret < 0) {
		free(uc);
		return ret;
	}
	c->priv = uc;
	return 0;
}

static void ruser_detach(struct lrpc__hclient *c)
{
	free(c->priv);
	c->priv = NULL;
	lrpc__handoff_rpal_kernel.detach(c);
}

/* The receiver context \p id names, from the cache or the kernel. NULL:
 * not callable in user mode (not imported, not armed, gone). */
static struct rpal_uctx *recv_ctx(struct lrpc__hclient *c,
				  struct ruser_client *uc, uint32_t id)
{
	struct rpal_ucall_lookup look = { .service_id = c->peer,
					  .receiver_id = id };
	uint32_t i = (id * 2654435761u) & uc->mask;
	uint64_t e, mine;

	for (uint32_t n = 0; looked_up && n <= uc->mask; n++) {
		e = atomic_load(&uc->slots[(i + n) & uc->mask]);
		if (!e)
			break;
		if (e >> 48 == id)
			return (struct rpal_uctx *)(uintptr_t)(e & ((1ull << 48) - 1));
	}
	/* Each calling thread looks up once: that writes its ids into its
	 * own context, which the stub copies into the receiver's word. */
	if (ioctl(lrpc__rpal_fd(), RPAL_IOC_UCALL_LOOKUP, &look) < 0 ||
	    look.ctx >> 48 || !look.ctx)
		return NULL;
	looked_up = true;
	atomic_store(&stub, (ucall_fn)(uintptr_t)look.entry);
	mine = (uint64_t)id << 48 | look.ctx;
	for (uint32_t n = 0; n <= uc->mask; n++) {
		uint64_t zero = 0;
		_Atomic uint64_t *s = &uc->slots[(i + n) & uc->mask];

		if (atomic_compare_exchange_strong(s, &zero, mine) ||
		    zero >> 48 == id)
			break;
	}
	return (struct rpal_uctx *)(uintptr_t)look.ctx;
}

/* The server has shared its slot by the time it answers our first kernel
 * call (its receiver shares before serving): map it. */
static void import(struct lrpc__hclient *c, struct ruser_client *uc)
{
	int ret = ioctl(lrpc__rpal_fd(), RPAL_IOC_IMPORT_SLOT,
			(unsigned long)c->peer);

	/* EEXIST: another channel to this server imported it already. */
	atomic_store(&uc->imported, ret >= 0 || errno == EEXIST ? 1 : -1);
}

/*
 * The call in user mode. EAGAIN is a receiver not in its wait: starting,
 * serving a kernel call, or stopped; the lane is ours, so no other call
 * holds it. It is retried until the deadline or the server's end, never
 * for ever. The handler runs to its end whatever the deadline (this
 * thread runs it): a reply past the deadline is DEADLINE_EXCEEDED, as the
 * other hand-offs would have returned at the deadline.
 */
static int ucall(struct lrpc__hclient *c, struct rpal_uctx *self,
		 struct rpal_uctx *recv, lrpc_deadline deadline)
{
	ucall_fn fn = atomic_load(&stub);
	long ret;

	self->rseq = rseq_area();
	while ((ret = fn(self, recv, 0)) == -EAGAIN) {
		if (atomic_load(c->dead))
			return -ECONNRESET;
		if (lrpc_now() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){ .tv_nsec = 20000 }, NULL);
	}
	if (ret == -ECONNRESET)
		return -ECONNRESET; /* the receiver died in the call */
	if (ret == -EBUSY)
		return -EDEADLK; /* a call from inside a handler */
	if (ret < 0)
		return -EPROTO;
	switch (self->arg) {
	case RUSER_SERVED:
		return lrpc_now() > deadline ? -ETIMEDOUT : 0;
	case RUSER_STOPPED:
		return -ECONNRESET;
	default:
		return -EPROTO;
	}
}

static int ruser_call(struct lrpc__hclient *c, struct lrpc__lane *lane,
		      uint32_t call_word, lrpc_deadline deadline)
{
	struct ruser_client *uc = c->priv;
	uint32_t id = LRPC__READ_ONCE(lane->rx.kernel_id);
	struct rpal_uctx *self, *recv;
	int ret;

	if (atomic_load(c->dead))
		return -ECONNRESET;
	/* Touching a server's slot in a fork child (no import) would fault. */
	if (in_slot && atomic_load(&uc->imported) > 0 &&
	    !(LRPC__READ_ONCE(lane->call.flags) & STREAM_FLAGS)) {
		self = lrpc__rpal_sender(&ret);
		if (!self)
			return ret == -EDEADLK ? ret : -EPROTO;
		recv = recv_ctx(c, uc, id);
		if (recv)
			return ucall(c, self, recv, deadline);
	}
	ret = lrpc__handoff_rpal_kernel.call(c, lane, call_word, deadline);
	if (ret == 0 && in_slot && !atomic_load(&uc->imported))
		import(c, uc);
	return ret;
}

static bool ruser_returned(struct lrpc__lane *lane, uint64_t seq)
{
	return lrpc__handoff_rpal_kernel.returned(lane, seq);
}

static void ruser_wait_returned(struct lrpc__lane *lane, uint64_t seq,
				lrpc_deadline deadline)
{
	lrpc__handoff_rpal_kernel.wait_returned(lane, seq, deadline);
}

/* A call waiting in the kernel fails by itself (ECONNRESET); one in user
 * mode notices the end in its retries. */
static void ruser_peer_gone(struct lrpc__lane *lane)
{
	(void)lane;
}

/* The server side. */

/*
 * The handler of every user-mode call, on a client's thread, on the
 * receiver's handler stack with its TLS, while the receiver thread sleeps
 * in its wait. Only calls of this connection's client are served; the
 * receiver's word holds the caller's ids, which the kernel wrote into the
 * caller's context.
 */
static unsigned long handler(struct rpal_uctx *ctx, unsigned long arg)
{
	struct ruser_recv *rr = (struct ruser_recv *)ctx;
	struct lrpc__hrecv *r = rr->r;
	uint32_t word = __atomic_load_n(&ctx->state, __ATOMIC_ACQUIRE);

	(void)arg;
	if (lrpc__word_service(word) != r->conn->client_id ||
	    LRPC__READ_ONCE(r->lane->call.flags) & STREAM_FLAGS)
		return RUSER_REFUSED;
	if (atomic_load(r->conn->stop))
		return RUSER_STOPPED;
	r->serve(r);
	return RUSER_SERVED;
}

static struct ruser_recv *recv_get(void)
{
	struct ruser_recv *rr;

	pthread_mutex_lock(&kick_lock);
	rr = retired;
	if (rr)
		retired = rr->next;
	pthread_mutex_unlock(&kick_lock);
	if (!rr)
		rr = aligned_alloc(alignof(struct ruser_recv), sizeof(*rr));
	if (rr)
		memset(rr, 0, sizeof(*rr));
	return rr;
}

static void recv_put(struct ruser_recv *rr)
{
	__atomic_store_n(&rr->ctx.rip, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&rr->ctx.ids, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&kick_lock);
	rr->next = retired;
	retired = rr;
	pthread_mutex_unlock(&kick_lock);
}

static void *waker_main(void *arg);


static int recv_arm(struct ruser_recv *rr)
{
	struct rpal_register reg = { .ctx = (uintptr_t)&rr->ctx };
	int fd = lrpc__rpal_fd();
	uint16_t cw;

	if (ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &reg) < 0)
		return -errno;
	rr->kernel_id = reg.id;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	rr->ctx.rip = (uintptr_t)handler;
	rr->ctx.rsp = (uintptr_t)rr->stack + HANDLER_STACK;
	rr->ctx.fsbase = thread_pointer();
	rr->ctx.mxcsr = __builtin_ia32_stmxcsr();
	rr->ctx.fpucw = cw;
	rr->ctx.rseq = rseq_area();
	if (ioctl(fd, RPAL_IOC_UCALL_ARM) < 0) {
		int err = -errno;

		ioctl(fd, RPAL_IOC_UNREGISTER);
		return err;
	}
	return 0;
}

static int ruser_recv_start(struct lrpc__hrecv *r)
{
	struct ruser_recv *rr = recv_get();
	bool start;
	int ret;

	if (!rr)
		return -ENOMEM;
	rr->r = r;
	rr->client_key = r->conn->client_key;
	rr->stack = mmap(NULL, HANDLER_STACK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (rr->stack == MAP_FAILED) {
		recv_put(rr);
		return -ENOMEM;
	}
	ret = lrpc__rpal_request(rr->client_key, &rr->client_peer);
	if (ret == 0 && rr->client_peer != r->conn->client_id) {
		lrpc__rpal_release(rr->client_peer, rr->client_key);
		ret = -EPROTO;
	}
	if (ret == 0) {
		ret = recv_arm(rr);
		if (ret < 0)
			lrpc__rpal_release(rr->client_peer, rr->client_key);
	}
	if (ret < 0) {
		munmap(rr->stack, HANDLER_STACK);
		recv_put(rr);
		return ret;
	}
	r->lane->rx.kernel_id = rr->kernel_id;
	r->priv = rr;
	pthread_mutex_lock(&kick_lock);
	rr->next = live;
	live = rr;
	start = !waker_started;
	waker_started = true;
	pthread_mutex_unlock(&kick_lock);
	if (start) {
		pthread_t t;

		if (lrpc__thread_start(&t, waker_main, NULL, true) < 0) {
			pthread_mutex_lock(&kick_lock);
			waker_started = false;
			pthread_mutex_unlock(&kick_lock);
		}
	}
	return 0;
}

static int64_t receive(bool reply, int64_t timeout_ns)
{
	struct rpal_wait w = { .timeout_ns = timeout_ns };

	if (ioctl(lrpc__rpal_fd(), reply ? RPAL_IOC_REPLY_WAIT : RPAL_IOC_WAIT,
		  &w) < 0)
		return -errno;
	return (int64_t)w.service_id;
}

/*
 * The wait has no timeout (see the top of the file). It ends for a kernel
 * call: the client's (its first, a stream's open), which this receiver
 * shares the slot for before serving it, or our own waker's, which means
 * stop. EBUSY: a signal or stop ended the wait while a user-mode call
 * still runs the handler; the call ends by itself.
 */
static int ruser_reply_wait(struct lrpc__hrecv *r)
{
	struct ruser_recv *rr = r->priv;
	uint32_t self = 0;

	lrpc__rpal_self(&self, NULL);
	for (;;) {
		int64_t svc;

		if (atomic_load(r->conn->stop))
			return -ESHUTDOWN;
		svc = receive(r->replying, -1);
		r->replying = false;
		if (svc == -EINTR)
			continue;
		if (svc == -EBUSY) {
			nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
			continue;
		}
		if (svc < 0)
			return -ESHUTDOWN;
		r->replying = true;
		if (atomic_load(r->conn->stop))
			return -ESHUTDOWN; /* a kick, or a call not to serve */
		/* Our own service is the waker's, unless we are the client
		 * too (a process calling its own server). */
		if (svc == self && svc != r->conn->client_id)
			continue;
		if (svc != r->conn->client_id)
			return 0;
		if (!rr->shared)
			rr->shared = ioctl(lrpc__rpal_fd(), RPAL_IOC_SHARE_SLOT,
					   (unsigned long)rr->client_peer) == 0;
		return 1;
	}
}

/* As rpal-kernel: reply, and wait no time at all. */
static void ruser_answer(struct lrpc__hrecv *r)
{
	r->replying = receive(true, 0) >= 0;
}

/*
 * The receiver's word after its wait: a user-mode call may still run (a
 * signal ended the wait, or the client died in it, which the loop's cancel
 * of every lane says). Wait for it to end, then make sure no call starts
 * (not WAIT) before the context goes.
 */
static void recv_quiesce(struct ruser_recv *rr)
{
	uint32_t *word = &rr->ctx.state;

	for (;;) {
		uint32_t w = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		uint32_t want = w;

		if (lrpc__word_state(w) == LRPC__RX_WAIT) {
			if (__atomic_compare_exchange_n(word, &want,
							LRPC__RX_RUNNING, false,
							__ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				return;
			continue;
		}
		if (lrpc__word_state(w) != LRPC__RX_CALL ||
		    lrpc__word_service(w) != rr->r->conn->client_id ||
		    atomic_load(&rr->r->lane->call.cancel))
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	}
}

/* A call taken once the stop is set is not served: the unregister fails
 * it (ECONNRESET). While this receiver holds a kernel call no user-mode
 * call can run; otherwise one may, and is waited for. */
static void ruser_recv_stop(struct lrpc__hrecv *r)
{
	struct ruser_recv *rr = r->priv;
	struct ruser_recv **p;
	bool holding = false;

	pthread_mutex_lock(&kick_lock);
	for (p = &live; *p && *p != rr; p = &(*p)->next)
		;
	if (*p)
		*p = rr->next;
	pthread_mutex_unlock(&kick_lock);
	if (r->replying) /* release the last caller */
		holding = receive(true, 0) >= 0;
	r->replying = false;
	if (!holding)
		recv_quiesce(rr);
	ioctl(lrpc__rpal_fd(), RPAL_IOC_UNREGISTER);
	__atomic_store_n(&rr->ctx.state, LRPC__RX_RUNNING, __ATOMIC_RELEASE);
	munmap(rr->stack, HANDLER_STACK);
	lrpc__rpal_release(rr->client_peer, rr->client_key);
	recv_put(rr);
	r->priv = NULL;
}

/* Any thread: hand the receiver of \p lane to the waker. */
static void ruser_kick(struct lrpc__lane *lane)
{
	pthread_mutex_lock(&kick_lock);
	for (struct ruser_recv *rr = live; rr; rr = rr->next) {
		if (rr->r->lane == lane) {
			rr->kicked = 1;
			pthread_cond_signal(&kick_cond);
		}
	}
	pthread_mutex_unlock(&kick_lock);
}

/*
 * The waker: a kernel call to each kicked receiver, which ends its wait.
 * EAGAIN is a receiver not in its wait (a user-mode call runs, or it is
 * on its way out): tried again a millisecond later. A receiver whose
 * client died in a user-mode call keeps that call's word; once the loop
 * has cancelled the lane (the client is gone) the word is put back to
 * WAIT so that the kick can claim it.
 */
static void *waker_main(void *arg)
{
	uint32_t self_id = 0, me = 0;
	uint64_t key = 0;

	(void)arg;
	if (lrpc__rpal_self(&self_id, &key) < 0 ||
	    lrpc__rpal_request(key, &me) < 0)
		return NULL;
	pthread_mutex_lock(&kick_lock);
	for (;;) {
		struct ruser_recv *rr;
		uint32_t id;
		int ret;

		for (rr = live; rr && !rr->kicked; rr = rr->next)
			;
		if (!rr) {
			pthread_cond_wait(&kick_cond, &kick_lock);
			continue;
		}
		if (atomic_load(&rr->r->lane->call.cancel)) {
			uint32_t w = __atomic_load_n(&rr->ctx.state, __ATOMIC_ACQUIRE);

			if (lrpc__word_state(w) == LRPC__RX_CALL &&
			    lrpc__word_service(w) == rr->r->conn->client_id)
				__atomic_compare_exchange_n(&rr->ctx.state, &w,
							    LRPC__RX_WAIT, false,
							    __ATOMIC_ACQ_REL,
							    __ATOMIC_ACQUIRE);
		}
		id = rr->kernel_id;
		pthread_mutex_unlock(&kick_lock);
		ret = lrpc__rpal_call(me, id, lrpc_now() + 100000000);
		if (ret == -EAGAIN)
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
		pthread_mutex_lock(&kick_lock);
		if (ret != -EAGAIN) {
			/* Delivered, or the receiver is gone: it may have been
			 * taken off the list (and reused) meanwhile. */
			for (struct ruser_recv *l = live; l; l = l->next)
				if (l == rr && l->kernel_id == id)
					l->kicked = 0;
		}
	}
	return NULL;
}

const struct lrpc__handoff lrpc__handoff_rpal_user = {
	.name = "rpal-user",
	.peers_may_ptrace = true,
	.probe = ruser_probe,
	.probe_in_slot = ruser_probe_in_slot,
	.offer = ruser_offer,
	.accept = ruser_accept,
	.attach = ruser_attach,
	.detach = ruser_detach,
	.call = ruser_call,
	.returned = ruser_returned,
	.wait_returned = ruser_wait_returned,
	.peer_gone = ruser_peer_gone,
	.recv_start = ruser_recv_start,
	.reply_wait = ruser_reply_wait,
	.answer = ruser_answer,
	.recv_stop = ruser_recv_stop,
	.kick = ruser_kick,
};
