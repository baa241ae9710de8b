/* SPDX-License-Identifier: MIT */
/*
 * Raw baseline: futex ping-pong over shared memory, the fair lower bound
 * for a stock kernel.
 *
 * The server creates a file in /dev/shm (the --listen path) holding one
 * slot per server thread; each client thread claims a free slot. A slot
 * has a request and a reply buffer and two sequence words, one per
 * direction. Caller: copy the payload into the request buffer, publish the
 * new sequence number, wake the callee if it sleeps, wait for the reply's
 * sequence. Callee: copy the request into the reply buffer and publish.
 *
 * Waiting is adaptive: each side records the CPU it last ran on in the
 * slot, and a waiter spins (up to --opt spin=NS, default 20 us) only while
 * the peer was last seen on another CPU, where it can make progress;
 * otherwise, or once the budget is spent, it sleeps in FUTEX_WAIT. So with
 * both pinned to one CPU this is a plain futex hand-off, on two CPUs a
 * spin hand-off. Sleeping is announced with a flag, so the waker only enters
 * the kernel when someone is asleep (seq_cst store/load pairs: Dekker).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <immintrin.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAGIC 0x66757478u /* "futx" */
#define CL 64

typedef struct shm_hdr {
	uint32_t magic;
	uint32_t nslots;
	uint64_t max_size;
	uint64_t slot_stride;
} shm_hdr;

typedef struct slot_ctl {
	/* Written by the caller. */
	_Alignas(CL) _Atomic uint32_t owner;
	_Atomic uint32_t req_seq;   /* futex word the callee waits on */
	_Atomic uint32_t cli_sleep; /* caller is (about to be) asleep */
	_Atomic int32_t cli_cpu;    /* CPU the caller last ran on */
	uint64_t req_len;
	/* Written by the callee. */
	_Alignas(CL) _Atomic uint32_t rep_seq; /* futex word the caller waits on */
	_Atomic uint32_t srv_sleep;
	_Atomic int32_t srv_cpu;
	uint64_t rep_len;
} slot_ctl;

#define CTL_SIZE 4096u

static uint64_t spin_ns = 20000;

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)w, op, val, NULL, NULL, 0);
}

/* Wait until *word != old; spin first if the peer is on another CPU. */
static void wait_change(_Atomic uint32_t *word, uint32_t old,
			_Atomic uint32_t *sleep_flag, _Atomic int32_t *peer_cpu)
{
	int peer = atomic_load_explicit(peer_cpu, memory_order_relaxed);

	if (spin_ns && (peer < 0 || peer != sched_getcpu())) {
		uint64_t t0 = bench_now_ns();
		for (unsigned i = 1;; i++) {
			if (atomic_load_explicit(word, memory_order_acquire) != old)
				return;
			_mm_pause();
			if ((i & 63) == 0 && bench_now_ns() - t0 > spin_ns)
				break;
		}
	}
	while (atomic_load_explicit(word, memory_order_acquire) == old) {
		atomic_store(sleep_flag, 1);
		/* seq_cst: the flag is visible before we look at the word again. */
		if (atomic_load(word) == old)
			futex(word, FUTEX_WAIT, old);
		atomic_store_explicit(sleep_flag, 0, memory_order_relaxed);
	}
}

/* Publish *word = val, then wake the peer if it announced sleeping. */
static void publish(_Atomic uint32_t *word, uint32_t val, _Atomic uint32_t *sleep_flag)
{
	atomic_store(word, val); /* seq_cst: pairs with the flag store above */
	if (atomic_load(sleep_flag))
		futex(word, FUTEX_WAKE, 1);
}

static void parse_opt(const bench_opts *o)
{
	if (o->opt && !strncmp(o->opt, "spin=", 5))
		spin_ns = strtoull(o->opt + 5, NULL, 10);
}

static size_t stride_for(size_t max)
{
	size_t s = CTL_SIZE + 2 * max;

	return (s + 4095) & ~(size_t)4095;
}

/* --- server -------------------------------------------------------------- */

typedef struct srv_thread {
	unsigned char *base;
	size_t max;
	pthread_t tid;
} srv_thread;

static void *serve_slot(void *arg)
{
	srv_thread *t = arg;
	slot_ctl *c = (slot_ctl *)t->base;
	unsigned char *req = t->base + CTL_SIZE, *rep = req + t->max;
	uint32_t seen = 0;

	for (;;) {
		atomic_store_explicit(&c->srv_cpu, sched_getcpu(), memory_order_relaxed);
		wait_change(&c->req_seq, seen, &c->srv_sleep, &c->cli_cpu);
		uint32_t seq = atomic_load_explicit(&c->req_seq, memory_order_acquire);
		uint64_t len = c->req_len; /* read once, validate */
		if (len > t->max)
			len = 0;
		memcpy(rep, req, len);
		c->rep_len = len;
		seen = seq;
		publish(&c->rep_seq, seq, &c->cli_sleep);
	}
	return NULL;
}

static int server(const bench_opts *o)
{
	unsigned n = o->threads;
	size_t stride = stride_for(o->max_size), total = 4096 + stride * n;
	int fd;
	unsigned char *m;

	parse_opt(o);
	bench_pin(o);
	bench_block_signals();
	unlink(o->addr);
	fd = open(o->addr, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)total))
		bench_die("create %s: %s", o->addr, strerror(errno));
	m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		bench_die("mmap: %s", strerror(errno));
	shm_hdr *h = (shm_hdr *)m;
	h->nslots = n;
	h->max_size = o->max_size;
	h->slot_stride = stride;
	srv_thread *ts = calloc(n, sizeof(*ts));
	if (!ts)
		bench_die("out of memory");
	for (unsigned i = 0; i < n; i++) {
		ts[i].base = m + 4096 + stride * i;
		ts[i].max = o->max_size;
		atomic_store(&((slot_ctl *)ts[i].base)->cli_cpu, -1);
		atomic_store(&((slot_ctl *)ts[i].base)->srv_cpu, -1);
		if (pthread_create(&ts[i].tid, NULL, serve_slot, &ts[i]))
			bench_die("pthread_create failed");
	}
	atomic_store((_Atomic uint32_t *)&h->magic, MAGIC);
	bench_ready(o->addr);
	bench_wait_signal();
	unlink(o->addr);
	exit(0);
}

/* --- client -------------------------------------------------------------- */

typedef struct client {
	unsigned char *map;
	size_t map_len;
	slot_ctl *c;
	unsigned char *req, *rep;
	size_t max;
	uint32_t seq;
} client;

static void *cl_connect(const bench_opts *o, unsigned idx)
{
	client *cl = calloc(1, sizeof(*cl));
	struct stat st;
	int fd;

	(void)idx;
	parse_opt(o);
	fd = open(o->addr, O_RDWR | O_CLOEXEC);
	if (!cl || fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "open %s: %s\n", o->addr, strerror(errno));
		return NULL;
	}
	cl->map_len = (size_t)st.st_size;
	cl->map = mmap(NULL, cl->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (cl->map == MAP_FAILED)
		return NULL;
	shm_hdr *h = (shm_hdr *)cl->map;
	if (atomic_load((_Atomic uint32_t *)&h->magic) != MAGIC ||
	    4096 + h->slot_stride * h->nslots > cl->map_len ||
	    h->slot_stride < stride_for(h->max_size) || h->max_size < o->size) {
		fprintf(stderr, "%s: bad or too small region\n", o->addr);
		return NULL;
	}
	for (unsigned i = 0; i < h->nslots; i++) {
		slot_ctl *c = (slot_ctl *)(cl->map + 4096 + h->slot_stride * i);
		uint32_t free_ = 0;
		if (atomic_compare_exchange_strong(&c->owner, &free_, 1)) {
			cl->c = c;
			break;
		}
	}
	if (!cl->c) {
		fprintf(stderr, "%s: no free slot\n", o->addr);
		return NULL;
	}
	cl->max = h->max_size;
	cl->req = (unsigned char *)cl->c + CTL_SIZE;
	cl->rep = cl->req + cl->max;
	cl->seq = atomic_load(&cl->c->rep_seq);
	return cl;
}

static int cl_call(void *ctx, const void *req, size_t len, const void **rep,
		   size_t *rep_len)
{
	client *cl = ctx;
	slot_ctl *c = cl->c;
	uint32_t seq = ++cl->seq;

	if (len > cl->max)
		return -EMSGSIZE;
	memcpy(cl->req, req, len);
	c->req_len = len;
	atomic_store_explicit(&c->cli_cpu, sched_getcpu(), memory_order_relaxed);
	publish(&c->req_seq, seq, &c->srv_sleep);
	wait_change(&c->rep_seq, seq - 1, &c->cli_sleep, &c->srv_cpu);
	if (atomic_load_explicit(&c->rep_seq, memory_order_acquire) != seq)
		return -EPROTO;
	*rep = cl->rep;
	*rep_len = c->rep_len;
	return 0;
}

static void cl_close(void *ctx)
{
	client *cl = ctx;

	atomic_store(&cl->c->owner, 0);
	munmap(cl->map, cl->map_len);
	free(cl);
}

int main(int argc, char **argv)
{
	static const bench_client_ops ops = {
		.name = "futex-shm",
		.connect = cl_connect,
		.call = cl_call,
		.close = cl_close,
	};
	bench_opts o;

	bench_parse(argc, argv, &o);
	if (!strcmp(o.mode, "server"))
		return server(&o);
	return bench_client_main(&o, &ops);
}
