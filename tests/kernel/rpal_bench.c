// SPDX-License-Identifier: MIT
// ktest: timeout=300 bench
/*
 * Round-trip latency of a 32-byte request and a 32-byte response between two
 * processes, same guest, same run:
 *   rpal        RPAL_IOC_CALL to a named receiver that answers with
 *               RPAL_IOC_REPLY_WAIT; payload in a shared mapping
 *   futex       futex ping-pong on a shared mapping, always sleeping
 *   futex-spin  the same, spinning briefly before sleeping (what a tuned
 *               stock-kernel IPC does)
 *   socket      Unix stream socket; the server runs an epoll loop, the
 *               client blocking send/recv
 * each with both processes pinned to one CPU, to two different CPUs, and
 * not pinned at all.
 * Prints a table, ratios against rpal, and one "KBENCH-JSON {...}" line.
 * Each round trip is timed with the TSC (the guest's CLOCK_MONOTONIC may
 * tick only every jiffy), converted to ns against CLOCK_MONOTONIC over the
 * whole run.
 * Exit 0, or 77 without /dev/rpal (the other rows are still printed).
 */
#include "rpal_test.h"

#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#define MSG		32
#define WARMUP		300
#define ROUNDS		3000
#define SPIN_LOOPS	2000
#define TMO		5000000000LL

enum { M_RPAL, M_FUTEX, M_FUTEX_SPIN, M_SOCKET, NMECH };
static const char *const mech_name[NMECH] = {
	"rpal", "futex", "futex-spin", "socket",
};
/* Unpinned is where a directed hand-off should pay: the receiver may run
 * on the caller's CPU, so no IPI and a warm cache. */
enum { P_SAME, P_CROSS, P_UNPINNED, NPLACE };
static const char *const place_name[NPLACE] = { "same-cpu", "cross-cpu",
						"unpinned" };

struct shm {
	struct ctx rctx, sctx;
	volatile uint64_t key;
	volatile uint32_t id, receiver_id, ready;
	/* futex ping-pong: sequence numbers and "asleep" flags per direction */
	_Alignas(64) uint32_t req_seq, req_sleep;
	_Alignas(64) uint32_t resp_seq, resp_sleep;
	_Alignas(64) unsigned char req[MSG], resp[MSG];
};

struct result {
	int ok;
	double p50, p99, mean;
};

static struct shm *m;
static uint64_t lat[ROUNDS];

static inline uint64_t ticks(void)
{
	return __builtin_ia32_rdtsc();
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* Pin to @cpu, or let the process run anywhere when @cpu < 0. */
static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	if (cpu < 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &set);
	else
		CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		FAIL("sched_setaffinity(%d): %s", cpu, strerror(errno));
}

static long futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

/* Wait until *seq == want: spin up to spin loops, then sleep. */
static void fwait(uint32_t *seq, uint32_t *sleep, uint32_t want, int spin)
{
	for (int i = 0; i < spin; i++) {
		if (__atomic_load_n(seq, __ATOMIC_ACQUIRE) == want)
			return;
		__builtin_ia32_pause();
	}
	for (;;) {
		uint32_t cur;

		__atomic_store_n(sleep, 1, __ATOMIC_SEQ_CST);
		cur = __atomic_load_n(seq, __ATOMIC_SEQ_CST);
		if (cur == want)
			break;
		futex(seq, FUTEX_WAIT, cur);
	}
	__atomic_store_n(sleep, 0, __ATOMIC_RELAXED);
}

static void fpost(uint32_t *seq, uint32_t *sleep, uint32_t val)
{
	__atomic_store_n(seq, val, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(sleep, __ATOMIC_SEQ_CST))
		futex(seq, FUTEX_WAKE, 1);
}

/* The server answers each request with its bytes plus one. */
static void answer(const unsigned char *in, unsigned char *out)
{
	for (int i = 0; i < MSG; i++)
		out[i] = in[i] + 1;
}

static void check_answer(const unsigned char *req, const unsigned char *resp)
{
	for (int i = 0; i < MSG; i++)
		if (resp[i] != (unsigned char)(req[i] + 1))
			FAIL("bad response byte %d", i);
}

static void fill(unsigned char *buf, int n)
{
	for (int i = 0; i < MSG; i++)
		buf[i] = (unsigned char)(n + i);
}

static void rpal_server(int fd)
{
	struct rpal_service_info info;
	struct rpal_wait w;

	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	m->receiver_id = rpal_register(fd, &m->rctx, 1);
	m->id = info.id;
	__atomic_store_n(&m->key, info.key, __ATOMIC_RELEASE);
	CHECK_OK(rpal_wait(fd, TMO, &w));
	for (;;) {
		/* An all-zero request is the stop message. */
		int stop = m->req[0] == 0 && m->req[1] == 0;

		answer(m->req, m->resp);
		if (stop)
			break;
		CHECK_OK(rpal_reply_wait(fd, TMO, &w));
	}
	/* Reply to the stop message; nobody calls again. */
	CHECK_ERR(rpal_reply_wait(fd, 20000000, &w), ETIMEDOUT);
	_exit(0);
}

static void rpal_call_named(int fd, struct rpal_call *c)
{
	long r;

	/* The receiver may not be back in WAIT yet (only between calls). */
	while ((r = ioctl(fd, RPAL_IOC_CALL, c)) == -1 && errno == EAGAIN)
		sched_yield();
	if (r)
		FAIL("RPAL_IOC_CALL: %s", strerror(errno));
}

static void futex_server(int spin)
{
	for (uint32_t n = 1;; n++) {
		int stop;

		fwait(&m->req_seq, &m->req_sleep, n, spin);
		stop = m->req[0] == 0 && m->req[1] == 0;
		answer(m->req, m->resp);
		fpost(&m->resp_seq, &m->resp_sleep, n);
		if (stop)
			_exit(0);
	}
}

static void xsend(int s, const void *buf)
{
	if (send(s, buf, MSG, 0) != MSG)
		FAIL("send: %s", strerror(errno));
}

static void xrecv(int s, void *buf)
{
	ssize_t n = recv(s, buf, MSG, MSG_WAITALL);

	if (n != MSG)
		FAIL("recv: %zd %s", n, n < 0 ? strerror(errno) : "");
}

static void socket_server(int s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = s };
	unsigned char in[MSG], out[MSG];
	int ep = epoll_create1(0);

	CHECK(ep >= 0);
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	for (;;) {
		int n = epoll_wait(ep, &ev, 1, -1);

		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n == 1);
		xrecv(s, in);
		answer(in, out);
		xsend(s, out);
		if (in[0] == 0 && in[1] == 0)
			_exit(0);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct result run(int mech, int cross, int rpal_fd)
{
	struct result res = { 0 };
	int sv[2] = { -1, -1 };
	struct rpal_call call;
	unsigned char resp[MSG];
	pid_t server;
	uint64_t sum = 0;

	memset(m, 0, sizeof(*m));
	if (mech == M_SOCKET)
		CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	server = fork();
	CHECK(server >= 0);
	if (server == 0) {
		pin(cross == P_UNPINNED ? -1 : cross == P_CROSS ? 1 : 0);
		__atomic_store_n(&m->ready, 1, __ATOMIC_RELEASE);
		switch (mech) {
		case M_RPAL:
			rpal_server(rpal_fd);
			break;
		case M_FUTEX:
			futex_server(0);
			break;
		case M_FUTEX_SPIN:
			futex_server(SPIN_LOOPS);
			break;
		case M_SOCKET:
			close(sv[0]);
			socket_server(sv[1]);
			break;
		}
		_exit(1);
	}
	pin(cross == P_UNPINNED ? -1 : 0);
	if (mech == M_SOCKET)
		close(sv[1]);
	while (!__atomic_load_n(&m->ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	if (mech == M_RPAL) {
		struct rpal_service_info info;
		struct rpal_request req;

		while (!__atomic_load_n(&m->key, __ATOMIC_ACQUIRE))
			usleep(1000);
		req = (struct rpal_request){ .key = m->key };
		/* A service per mm: the client enables itself on its first run. */
		if (ioctl(rpal_fd, RPAL_IOC_ENABLE, &info) && errno != EEXIST)
			FAIL("RPAL_IOC_ENABLE: %s", strerror(errno));
		rpal_register(rpal_fd, &m->sctx, 0);
		CHECK_OK(ioctl(rpal_fd, RPAL_IOC_REQUEST, &req));
		call = (struct rpal_call){ m->id, m->receiver_id, TMO };
	}

	for (int i = -WARMUP; i <= ROUNDS; i++) {
		/* Request n (1-based) carries bytes n, n+1, ...; the last, zeros. */
		uint32_t n = (uint32_t)(i + WARMUP + 1);
		int stop = i == ROUNDS;
		unsigned char req[MSG];
		uint64_t t0, t1;

		if (stop)
			memset(req, 0, MSG);
		else
			fill(req, (n % 200) + 1);
		t0 = ticks();
		switch (mech) {
		case M_RPAL:
			memcpy(m->req, req, MSG);
			rpal_call_named(rpal_fd, &call);
			memcpy(resp, m->resp, MSG);
			break;
		case M_FUTEX:
		case M_FUTEX_SPIN:
			memcpy(m->req, req, MSG);
			fpost(&m->req_seq, &m->req_sleep, n);
			fwait(&m->resp_seq, &m->resp_sleep, n,
			      mech == M_FUTEX ? 0 : SPIN_LOOPS);
			memcpy(resp, m->resp, MSG);
			break;
		case M_SOCKET:
			xsend(sv[0], req);
			xrecv(sv[0], resp);
			break;
		}
		t1 = ticks();
		check_answer(req, resp);
		if (i >= 0 && i < ROUNDS)
			lat[i] = t1 - t0;
	}
	if (reap(server) != 0)
		FAIL("%s %s: server failed", mech_name[mech], place_name[cross]);
	if (mech == M_RPAL)
		CHECK_OK(ioctl(rpal_fd, RPAL_IOC_UNREGISTER));
	if (mech == M_SOCKET)
		close(sv[0]);

	for (int i = 0; i < ROUNDS; i++)
		sum += lat[i];
	qsort(lat, ROUNDS, sizeof(lat[0]), cmp_u64);
	res.ok = 1;
	res.p50 = lat[ROUNDS / 2];
	res.p99 = lat[ROUNDS * 99 / 100];
	res.mean = (double)sum / ROUNDS;
	return res;
}

int main(void)
{
	struct result r[NMECH][NPLACE] = { 0 };
	int have_rpal, ncross, ncpu, rpal_fd = -1, fd;
	uint64_t t0, clk = UINT64_MAX, start = now_ns(), tsc0 = ticks();
	char json[4096], csrc[64] = "unknown";
	double ns_per_tick;
	cpu_set_t cpus;
	size_t off = 0;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	m = shared_alloc(sizeof(*m));
	CHECK_OK(sched_getaffinity(0, sizeof(cpus), &cpus));
	ncpu = CPU_COUNT(&cpus);
	ncross = ncpu >= 2 ? NPLACE : 1;
	f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (f) {
		if (fscanf(f, "%63s", csrc) != 1)
			strcpy(csrc, "unknown");
		fclose(f);
	}
	fd = open("/dev/rpal", O_RDWR | O_CLOEXEC);
	have_rpal = fd >= 0 && ioctl(fd, RPAL_IOC_GET_API_VERSION) == RPAL_API_VERSION;
	if (have_rpal)
		rpal_fd = fd;

	/* The cost of one TSC read, the floor of every number below. */
	for (int i = 0; i < 1000; i++) {
		t0 = ticks();
		t0 = ticks() - t0;
		if (t0 < clk)
			clk = t0;
	}

	for (int cross = 0; cross < ncross; cross++) {
		for (int mech = 0; mech < NMECH; mech++) {
			if (mech == M_RPAL && !have_rpal)
				continue;
			r[mech][cross] = run(mech, cross, rpal_fd);
		}
	}

	/* Calibrate over the whole run: at least a second, a jiffy's error. */
	while (now_ns() - start < 1000000000u)
		usleep(10000);
	ns_per_tick = (double)(now_ns() - start) / (double)(ticks() - tsc0);
	for (int cross = 0; cross < ncross; cross++)
		for (int mech = 0; mech < NMECH; mech++) {
			r[mech][cross].p50 *= ns_per_tick;
			r[mech][cross].p99 *= ns_per_tick;
			r[mech][cross].mean *= ns_per_tick;
		}

	printf("RPAL guest benchmark: QEMU TCG software emulation (-cpu max -smp 2).\n");
	printf("Absolute times are meaningless under TCG; compare the ratios.\n");
	printf("%d-byte request + %d-byte response between two forked processes,\n",
	       MSG, MSG);
	printf("%d warm-up + %d timed round trips each; %d CPUs; TSC timing (%.3f ns/tick,\n",
	       WARMUP, ROUNDS, ncpu, ns_per_tick);
	printf("read %.0f ns), calibrated on CLOCK_MONOTONIC (clocksource %s)\n",
	       clk * ns_per_tick, csrc);
	if (ncross < 2)
		printf("only one CPU online: no cross-cpu or unpinned rows\n");
	printf("futex-spin spins %d pause loops before sleeping\n", SPIN_LOOPS);
	printf("%-11s %-9s %10s %10s %10s\n", "mechanism", "placement",
	       "p50_ns", "p99_ns", "mean_ns");
	for (int cross = 0; cross < ncross; cross++)
		for (int mech = 0; mech < NMECH; mech++) {
			struct result *x = &r[mech][cross];

			if (!x->ok)
				continue;
			printf("%-11s %-9s %10.0f %10.0f %10.0f\n", mech_name[mech],
			       place_name[cross], x->p50, x->p99, x->mean);
		}
	if (have_rpal) {
		printf("ratios to rpal (mean, p50):\n");
		for (int cross = 0; cross < ncross; cross++)
			for (int mech = 1; mech < NMECH; mech++)
				printf("  %-9s %-10s/rpal  mean %5.2fx  p50 %5.2fx\n",
				       place_name[cross], mech_name[mech],
				       ratio(r[mech][cross].mean, r[M_RPAL][cross].mean),
				       ratio(r[mech][cross].p50, r[M_RPAL][cross].p50));
	} else {
		printf("no /dev/rpal: rpal rows and ratios missing\n");
	}
	printf("bench time %.1f s\n", (now_ns() - start) / 1e9);

	off += snprintf(json + off, sizeof(json) - off,
			"{\"env\":\"qemu-tcg -cpu max -smp 2\",\"cpus\":%d,"
			"\"clocksource\":\"%s\",\"msg_bytes\":%d,"
			"\"rounds\":%d,\"warmup\":%d,\"spin_loops\":%d,"
			"\"ns_per_tick\":%.4f,\"results\":[",
			ncpu, csrc, MSG, ROUNDS, WARMUP, SPIN_LOOPS, ns_per_tick);
	for (int cross = 0, first = 1; cross < ncross; cross++)
		for (int mech = 0; mech < NMECH; mech++) {
			struct result *x = &r[mech][cross];

			if (!x->ok)
				continue;
			off += snprintf(json + off, sizeof(json) - off,
					"%s{\"mech\":\"%s\",\"placement\":\"%s\","
					"\"p50_ns\":%.0f,\"p99_ns\":%.0f,\"mean_ns\":%.0f",
					first ? "" : ",", mech_name[mech],
					place_name[cross], x->p50, x->p99, x->mean);
			if (have_rpal && mech != M_RPAL)
				off += snprintf(json + off, sizeof(json) - off,
						",\"mean_ratio_to_rpal\":%.3f,"
						"\"p50_ratio_to_rpal\":%.3f",
						ratio(x->mean, r[M_RPAL][cross].mean),
						ratio(x->p50, r[M_RPAL][cross].p50));
			off += snprintf(json + off, sizeof(json) - off, "}");
			first = 0;
		}
	snprintf(json + off, sizeof(json) - off, "]}");
	printf("KBENCH-JSON %s\n", json);
	return have_rpal ? T_PASS : T_SKIP;
}
