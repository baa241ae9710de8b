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
#include <time.h>

#include <linux/rpal.h>

#include "handoff/handoff.h"
#include "handoff/rpal_kernel.h"
#include "handoff/rpal_user.h"
#include "wire/lane.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

typedef long (*ucall_fn)(struct rpal_uctx *self, struct rpal_uctx *recv,
			 unsigned long arg);

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool kernel_ok; /* user-mode calls on this kernel and CPU */
static bool in_slot;   /* this process lives in a slot (no fork child does) */
static _Atomic(ucall_fn) stub;

/* The client thread has looked a receiver up: its context holds its ids. */
static __thread bool looked_up;

/* A fork child has no slot (nor service). */
static void fork_child(void)
{
	in_slot = false;
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
	if (pthread_atfork(NULL, NULL, fork_child) || lrpc__ruser_recv_atfork())
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

	self->rseq = lrpc__ruser_rseq();
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
	case LRPC__RUSER_SERVED:
		return lrpc_now() > deadline ? -ETIMEDOUT : 0;
	case LRPC__RUSER_STOPPED:
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
	    !(LRPC__READ_ONCE(lane->call.flags) & LRPC__RUSER_STREAM_FLAGS)) {
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
	.recv_start = lrpc__ruser_recv_start,
	.reply_wait = lrpc__ruser_reply_wait,
	.answer = lrpc__ruser_answer,
	.recv_stop = lrpc__ruser_recv_stop,
	.kick = lrpc__ruser_kick,
};
