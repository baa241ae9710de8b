/* SPDX-License-Identifier: MIT */
/*
 * Shared command line and the closed-loop client driver (see bench.h).
 *
 * Method: every client thread keeps exactly one call in flight (closed
 * loop). The driver fixes a window [start + warmup, start + warmup +
 * duration]; a call counts, and its latency is kept, when it completes
 * inside the window. Latencies are per-call CLOCK_MONOTONIC differences,
 * kept as samples and sorted, so the percentiles are exact. CPU time of
 * both processes is read at the window's edges (this process with
 * CLOCK_PROCESS_CPUTIME_ID, the server through clock_getcpuclockid()), so
 * start-up and warm-up are excluded from CPU per call too.
 *
 * Closed loop means a slow call delays the next one instead of queueing
 * behind it: the percentiles are those of the calls made, not of a fixed
 * arrival rate (no coordinated-omission correction applies or is made).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "bench";

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s server --listen ADDR [--threads N] [--max-size B] [--cpu LIST] [--opt S]\n"
		"       %s client --connect ADDR --size B [--threads N] [--duration S]\n"
		"              [--warmup S] [--cpu LIST] [--server-pid PID] [--opt S]\n"
		"              [--workload echo|stream|async] [--depth N]\n",
		prog, prog);
	exit(2);
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s)
		usage();
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end)
		usage();
	return (size_t)v;
}

void bench_parse(int argc, char **argv, bench_opts *o)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "max-size", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "cpu", required_argument, NULL, 'p' },
		{ "server-pid", required_argument, NULL, 'P' },
		{ "opt", required_argument, NULL, 'o' },
		{ "workload", required_argument, NULL, 'W' },
		{ "depth", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	if (argv[0]) {
		const char *slash = strrchr(argv[0], '/');
		prog = slash ? slash + 1 : argv[0];
	}
	memset(o, 0, sizeof(*o));
	o->size = 32;
	o->max_size = (size_t)1 << 20;
	o->threads = 1;
	o->depth = 64;
	o->duration = 1.0;
	o->warmup = 0.2;
	if (argc < 2)
		usage();
	o->mode = argv[1];
	if (strcmp(o->mode, "server") && strcmp(o->mode, "client"))
		usage();
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
		case 'c': o->addr = optarg; break;
		case 's': o->size = parse_size(optarg); break;
		case 'm': o->max_size = parse_size(optarg); break;
		case 't': o->threads = (unsigned)atoi(optarg); break;
		case 'd': o->duration = atof(optarg); break;
		case 'w': o->warmup = atof(optarg); break;
		case 'p': o->cpus = *optarg ? optarg : NULL; break;
		case 'P': o->server_pid = (pid_t)atoi(optarg); break;
		case 'o': o->opt = optarg; break;
		case 'D': o->depth = (unsigned)atoi(optarg); break;
		case 'W':
			if (!strcmp(optarg, "stream"))
				o->stream = 1;
			else if (!strcmp(optarg, "async"))
				o->async = 1;
			else if (strcmp(optarg, "echo"))
				usage();
			break;
		default: usage();
		}
	}
	if (optind != argc || !o->addr || o->threads < 1 || o->threads > 256 ||
	    o->duration <= 0 || o->warmup < 0)
		usage();
	if (o->size > o->max_size)
		o->max_size = o->size;
}

void bench_pin(const bench_opts *o)
{
	cpu_set_t set;
	const char *p = o->cpus;

	if (!p)
		return;
	CPU_ZERO(&set);
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b;

		if (end == p || a < 0 || a >= CPU_SETSIZE)
			bench_die("bad --cpu '%s'", o->cpus);
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a || b >= CPU_SETSIZE)
				bench_die("bad --cpu '%s'", o->cpus);
		}
		for (long i = a; i <= b; i++)
			CPU_SET((int)i, &set);
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			bench_die("bad --cpu '%s'", o->cpus);
	}
	if (sched_setaffinity(0, sizeof(set), &set))
		bench_die("sched_setaffinity(%s): %s", o->cpus, strerror(errno));
}

void bench_ready(const char *addr)
{
	printf("READY %s\n", addr);
	fflush(stdout);
}

static sigset_t term_set(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	return s;
}

void bench_block_signals(void)
{
	sigset_t s = term_set();

	pthread_sigmask(SIG_BLOCK, &s, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void bench_wait_signal(void)
{
	sigset_t s = term_set();
	int sig;

	while (sigwait(&s, &sig))
		;
}

/* --- client driver ------------------------------------------------------ */

typedef struct thread_state {
	const bench_opts *o;
	const bench_client_ops *ops;
	unsigned idx;
	pthread_t tid;
	uint32_t *lat;        /* samples, ns */
	size_t n, cap;
	uint64_t calls_total; /* including warm-up */
	int failed;
	char err[160];
	char desc[160];
} thread_state;

static pthread_barrier_t start_barrier;
static _Atomic uint64_t win_start, win_end;
static atomic_int abort_all;

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Where a call's sequence number goes: start, middle, end. */
static void stamp(unsigned char *buf, size_t len, uint64_t seq)
{
	size_t k = len < 8 ? len : 8;

	memcpy(buf, &seq, k);
	if (len >= 24) {
		memcpy(buf + (len / 2 & ~(size_t)7), &seq, 8);
		memcpy(buf + len - 8, &seq, 8);
	}
}

static int check(const unsigned char *req, const unsigned char *rep,
		 size_t len, size_t rep_len)
{
	size_t k = len < 64 ? len : 64;
	size_t mid = len / 2 & ~(size_t)7;

	if (rep_len != len)
		return -1;
	if (memcmp(req, rep, k) || memcmp(req + len - k, rep + len - k, k))
		return -1;
	if (len >= 24 && memcmp(req + mid, rep + mid, 8))
		return -1;
	return 0;
}

void bench_pour_stamp(unsigned char *buf, size_t len, uint64_t seq)
{
	stamp(buf, len, seq);
}

/* A poured message must be the next in order and whole. */
static int pour_check(const unsigned char *m, size_t len, size_t want,
		      uint64_t seq)
{
	uint64_t got = 0;

	if (len != want)
		return -1;
	memcpy(&got, m, len < 8 ? len : 8);
	if (len >= 8 && got != seq)
		return -1;
	if (len >= 24 && (memcmp(m + (len / 2 & ~(size_t)7), &seq, 8) ||
			  memcmp(m + len - 8, &seq, 8)))
		return -1;
	return 0;
}

/* Keep one sample: a call's latency, or the gap between two messages. */
static void keep(thread_state *t, uint64_t d)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 1 << 16;
		uint32_t *nl = realloc(t->lat, nc * sizeof(*nl));
		if (!nl)
			bench_die("out of memory");
		t->lat = nl;
		t->cap = nc;
	}
	t->lat[t->n++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static void pour_loop(thread_state *t, void *ctx)
{
	const bench_opts *o = t->o;
	uint64_t ws = atomic_load(&win_start), we = atomic_load(&win_end);
	uint64_t seq = 0, last = bench_now_ns();
	void *s = t->ops->pour_open(ctx, o->size);

	if (!s) {
		t->failed = 1;
		snprintf(t->err, sizeof(t->err), "cannot open a stream");
		atomic_store(&abort_all, 1);
		return;
	}
	while (!atomic_load_explicit(&abort_all, memory_order_relaxed)) {
		const void *m;
		size_t len;
		uint64_t now;

		if (t->ops->pour_next(s, &m, &len)) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err), "message %" PRIu64 " failed", seq);
			atomic_store(&abort_all, 1);
			break;
		}
		if (pour_check(m, len, o->size, seq)) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err),
				 "message %" PRIu64 " out of order or torn (len %zu)",
				 seq, len);
			atomic_store(&abort_all, 1);
			break;
		}
		seq++;
		t->calls_total++;
		now = bench_now_ns();
		if (now > we)
			break;
		if (now > ws)
			keep(t, now - last);
		last = now;
	}
	t->ops->pour_close(s);
}

/* --workload async: what each finished call brings. */
struct async_run {
	thread_state *t;
	const unsigned char *req;
	uint64_t ws, we;
};

static int async_done(void *arg, const void *rep, size_t rep_len, uint64_t lat_ns)
{
	struct async_run *r = arg;
	thread_state *t = r->t;
	uint64_t now = bench_now_ns();

	if (atomic_load_explicit(&abort_all, memory_order_relaxed))
		return 1;
	if (check(r->req, rep, t->o->size, rep_len)) {
		t->failed = 1;
		snprintf(t->err, sizeof(t->err),
			 "async call: reply differs from request (len %zu vs %zu)",
			 rep_len, t->o->size);
		atomic_store(&abort_all, 1);
		return 1;
	}
	t->calls_total++;
	if (now > r->we)
		return 1;
	if (now > r->ws)
		keep(t, lat_ns);
	return 0;
}

static void async_loop(thread_state *t, void *ctx, const unsigned char *req)
{
	struct async_run r = { t, req, atomic_load(&win_start), atomic_load(&win_end) };

	if (t->ops->async_loop(ctx, req, t->o->size, t->o->depth, async_done, &r)) {
		t->failed = 1;
		snprintf(t->err, sizeof(t->err), "async calls failed");
		atomic_store(&abort_all, 1);
	}
}

static void *client_thread(void *arg)
{
	thread_state *t = arg;
	const bench_opts *o = t->o;
	unsigned char *req = malloc(o->size ? o->size : 1);
	uint64_t rng = 0x9e3779b97f4a7c15ull * (t->idx + 1), seq = 0;
	void *ctx;

	if (!req)
		bench_die("out of memory");
	for (size_t i = 0; i < o->size; i++)
		req[i] = (unsigned char)rng_next(&rng);
	ctx = t->ops->connect(o, t->idx);
	if (!ctx) {
		t->failed = 1;
		snprintf(t->err, sizeof(t->err), "connect failed");
		atomic_store(&abort_all, 1);
	}
	if (ctx && t->ops->describe) {
		const char *d = t->ops->describe(ctx);
		if (d)
			snprintf(t->desc, sizeof(t->desc), "%s", d);
	}
	pthread_barrier_wait(&start_barrier);
	pthread_barrier_wait(&start_barrier); /* window is set */
	if (!ctx)
		goto out;
	if (o->stream) {
		pour_loop(t, ctx);
		t->ops->close(ctx);
		goto out;
	}
	if (o->async) {
		/* One request for all: what is in flight at once cannot share
		 * a stamp, and the check compares the whole payload anyway. */
		async_loop(t, ctx, req);
		t->ops->close(ctx);
		goto out;
	}
	uint64_t ws = atomic_load(&win_start), we = atomic_load(&win_end);
	while (!atomic_load_explicit(&abort_all, memory_order_relaxed)) {
		const void *rep;
		size_t rep_len;
		uint64_t t0, t1;
		int rc;

		stamp(req, o->size, ++seq ^ ((uint64_t)t->idx << 56));
		t0 = bench_now_ns();
		rc = t->ops->call(ctx, req, o->size, &rep, &rep_len);
		t1 = bench_now_ns();
		if (rc) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err), "call %" PRIu64 " failed (%d)", seq, rc);
			atomic_store(&abort_all, 1);
			break;
		}
		if (check(req, rep, o->size, rep_len)) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err),
				 "call %" PRIu64 ": reply differs from request (len %zu vs %zu)",
				 seq, rep_len, o->size);
			atomic_store(&abort_all, 1);
			break;
		}
		t->calls_total++;
		if (t1 > we)
			break;
		if (t1 <= ws)
			continue;
		keep(t, t1 - t0);
	}
	t->ops->close(ctx);
out:
	free(req);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static uint64_t pct(const uint32_t *v, size_t n, double p)
{
	size_t r;

	if (!n)
		return 0;
	r = (size_t)(p * (double)n + 0.999999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return v[r - 1];
}

static uint64_t cpu_clock_ns(clockid_t id, int *ok)
{
	struct timespec ts;

	if (clock_gettime(id, &ts)) {
		*ok = 0;
		return 0;
	}
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000u),
			       .tv_nsec = (long)(t % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

int bench_client_main(const bench_opts *o, const bench_client_ops *ops)
{
	unsigned n = o->threads;
	thread_state *ts = calloc(n, sizeof(*ts));
	clockid_t srv_clock = 0;
	int srv_ok = 0, cli_ok = 1;
	uint64_t c0 = 0, c1 = 0, s0 = 0, s1 = 0;
	struct rusage r0, r1;

	if (!ts)
		bench_die("out of memory");
	if (o->async && !ops->async_loop) {
		printf("{\"ok\": false, \"error\": \"no asynchronous calls in %s\"}\n",
		       ops->name);
		return 1;
	}
	if (o->stream && !ops->pour_open) {
		printf("{\"ok\": false, \"error\": \"no streams in %s\"}\n", ops->name);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	bench_pin(o);
	if (o->server_pid > 0 && clock_getcpuclockid(o->server_pid, &srv_clock) == 0)
		srv_ok = 1;
	pthread_barrier_init(&start_barrier, NULL, n + 1);
	for (unsigned i = 0; i < n; i++) {
		ts[i].o = o;
		ts[i].ops = ops;
		ts[i].idx = i;
		if (pthread_create(&ts[i].tid, NULL, client_thread, &ts[i]))
			bench_die("pthread_create failed");
	}
	pthread_barrier_wait(&start_barrier); /* all connected */
	uint64_t now = bench_now_ns();
	uint64_t ws = now + (uint64_t)(o->warmup * 1e9);
	uint64_t we = ws + (uint64_t)(o->duration * 1e9);
	atomic_store(&win_start, ws);
	atomic_store(&win_end, we);
	pthread_barrier_wait(&start_barrier);

	sleep_until(ws);
	c0 = cpu_clock_ns(CLOCK_PROCESS_CPUTIME_ID, &cli_ok);
	if (srv_ok)
		s0 = cpu_clock_ns(srv_clock, &srv_ok);
	getrusage(RUSAGE_SELF, &r0);
	if (!atomic_load(&abort_all))
		sleep_until(we);
	c1 = cpu_clock_ns(CLOCK_PROCESS_CPUTIME_ID, &cli_ok);
	if (srv_ok)
		s1 = cpu_clock_ns(srv_clock, &srv_ok);
	getrusage(RUSAGE_SELF, &r1);

	size_t total = 0;
	uint64_t calls_total = 0;
	const char *err = NULL, *desc = NULL;
	for (unsigned i = 0; i < n; i++) {
		pthread_join(ts[i].tid, NULL);
		total += ts[i].n;
		calls_total += ts[i].calls_total;
		if (ts[i].failed && !err)
			err = ts[i].err;
		if (ts[i].desc[0] && !desc)
			desc = ts[i].desc;
	}
	if (err) {
		printf("{\"ok\": false, \"error\": ");
		json_str(err);
		printf("}\n");
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	uint32_t *all = malloc((total ? total : 1) * sizeof(*all));
	size_t k = 0;
	double sum = 0;
	if (!all)
		bench_die("out of memory");
	for (unsigned i = 0; i < n; i++) {
		memcpy(all + k, ts[i].lat, ts[i].n * sizeof(*all));
		k += ts[i].n;
		free(ts[i].lat);
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	for (size_t i = 0; i < total; i++)
		sum += all[i];

	double win_s = o->duration;
	double cpu_cli = cli_ok ? (double)(c1 - c0) : -1;
	double cpu_srv = srv_ok ? (double)(s1 - s0) : -1;
	printf("{\"ok\": true, \"calls\": %zu, \"calls_total\": %" PRIu64
	       ", \"window_s\": %.6f, \"throughput\": %.1f",
	       total, calls_total, win_s, (double)total / win_s);
	printf(", \"lat_ns\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64
	       ", \"p999\": %" PRIu64 ", \"min\": %" PRIu64 ", \"max\": %" PRIu64
	       ", \"mean\": %.1f}",
	       pct(all, total, 0.50), pct(all, total, 0.99), pct(all, total, 0.999),
	       total ? (uint64_t)all[0] : 0, total ? (uint64_t)all[total - 1] : 0,
	       total ? sum / (double)total : 0.0);
	printf(", \"cpu_ns\": {\"client\": %.0f, \"server\": %.0f}", cpu_cli, cpu_srv);
	if (total && cpu_cli >= 0 && cpu_srv >= 0)
		printf(", \"cpu_per_call_ns\": %.1f", (cpu_cli + cpu_srv) / (double)total);
	else
		printf(", \"cpu_per_call_ns\": null");
	printf(", \"client_ctxsw\": {\"voluntary\": %ld, \"involuntary\": %ld}",
	       r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw);
	if (desc)
		printf(", %s", desc);
	printf("}\n");
	fflush(stdout);
	free(all);
	free(ts);
	return 0;
}
