/* SPDX-License-Identifier: MIT */
/*
 * bench-mesh-load: an open-loop HTTP/1.1 load generator for the mesh bench
 * (bench/run-mesh; bench/README.md says why not wrk or h2load --rps).
 *
 *   bench-mesh-load --port P --path /pkg.Svc/Method --body FILE --rate R
 *       [--connections N] [--duration S] [--warmup S] [--expect TEXT]
 *       [--pids PID,PID,...]
 *
 * --rate R > 0: request i is due at start + i / R whatever happened to
 * the ones before (open loop). It goes out on an idle keep-alive
 * connection to 127.0.0.1:P; when none is idle it waits for one, and its
 * latency still counts from when it was due (what wrk2 calls correcting
 * for coordinated omission), so a mesh that falls behind shows it in the
 * tail instead of being offered less. --rate 0: closed loop, every
 * connection sends its next request when the reply arrives (saturation).
 *
 * Requests due in the measured window (after --warmup, for --duration)
 * are the samples; each reply must be 200 and, with --expect, contain
 * TEXT. At the window's edges it reads the CPU clock of every --pids
 * process (clock_getcpuclockid) and its own. One thread, epoll. Prints
 * one JSON object.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define MAX_PIDS 32
#define RBUF 65536

struct conn {
	int fd;
	bool busy;
	uint64_t t_start; /* when the request in flight was due (or sent) */
	bool counted;     /* due inside the measured window */
	size_t rlen;
	char rbuf[RBUF];
};

static struct {
	int port;
	const char *path, *expect;
	char *req;
	size_t req_len;
	double rate, duration, warmup;
	unsigned nconns;
	pid_t pids[MAX_PIDS];
	unsigned npids;
} o = { .nconns = 32, .duration = 2, .warmup = 0.5 };

static struct conn conns[MAX_CONNS];
static int ep;
static uint64_t *lat;
static size_t nlat, cap_lat;
static uint64_t errors, sent_late;
static char first_error[200];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	printf("{\"ok\": false, \"error\": \"%s: %s\"}\n", what, strerror(errno));
	exit(1);
}

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	errors++;
	va_start(ap, fmt);
	if (!first_error[0])
		vsnprintf(first_error, sizeof(first_error), fmt, ap);
	va_end(ap);
}

static void conn_open(struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl");
	c->busy = false;
	c->rlen = 0;
}

static void conn_reopen(struct conn *c)
{
	close(c->fd);
	conn_open(c);
}

/* Requests are ~1 KiB: one blocking write puts it in the socket buffer. */
static void conn_send(struct conn *c, uint64_t t_start, bool counted)
{
	size_t off = 0;

	while (off < o.req_len) {
		ssize_t n = write(c->fd, o.req + off, o.req_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write");
		off += (size_t)n;
	}
	c->busy = true;
	c->t_start = t_start;
	c->counted = counted;
}

static void record(uint64_t ns)
{
	if (nlat == cap_lat) {
		cap_lat = cap_lat ? 2 * cap_lat : 65536;
		lat = realloc(lat, cap_lat * sizeof(*lat));
		if (!lat)
			die("realloc");
	}
	lat[nlat++] = ns;
}

/* A whole response in c->rbuf? \return its length, 0 if not yet, -1 if
 * it is not one we can read (then the connection is dropped). */
static long response_len(struct conn *c, int *status)
{
	char *hend = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
	long clen = -1;

	if (!hend)
		return c->rlen >= RBUF ? -1 : 0;
	*hend = '\0';
	if (sscanf(c->rbuf, "HTTP/1.%*d %d", status) != 1)
		return -1;
	for (char *p = strstr(c->rbuf, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, "content-length:", 15))
			clen = strtol(p + 17, NULL, 10);
	*hend = '\r';
	if (clen < 0)
		return -1;
	if ((size_t)(hend + 4 - c->rbuf) + (size_t)clen > RBUF)
		return -1;
	if (c->rlen < (size_t)(hend + 4 - c->rbuf) + (size_t)clen)
		return 0;
	return (hend + 4 - c->rbuf) + clen;
}

/* \return true when the connection's response is complete (c idle). */
static bool conn_read(struct conn *c, uint64_t t)
{
	ssize_t n = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
	int status = 0;
	long len;

	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return false;
		if (c->busy)
			fail("connection closed mid-request");
		conn_reopen(c);
		return true;
	}
	c->rlen += (size_t)n;
	len = response_len(c, &status);
	if (len == 0)
		return false;
	if (len < 0) {
		fail("unreadable response: %.60s", c->rbuf);
		conn_reopen(c);
		return true;
	}
	if (status != 200) {
		char *body = memmem(c->rbuf, (size_t)len, "\r\n\r\n", 4);

		c->rbuf[len < RBUF ? len : RBUF - 1] = '\0';
		fail("HTTP status not 200: %.150s", body ? body + 4 : c->rbuf);
	} else if (o.expect && !memmem(c->rbuf, (size_t)len, o.expect, strlen(o.expect))) {
		c->rbuf[len < RBUF ? len : RBUF - 1] = '\0';
		fail("reply lacks the expected text: %.150s", c->rbuf);
	} else if (c->counted) {
		record(t - c->t_start);
	}
	memmove(c->rbuf, c->rbuf + len, c->rlen - (size_t)len);
	c->rlen -= (size_t)len;
	c->busy = false;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(double p)
{
	size_t i = (size_t)(p * (double)nlat + 0.999999);

	if (!nlat)
		return 0;
	return lat[i ? (i > nlat ? nlat : i) - 1 : 0];
}

static void load_body(const char *path)
{
	FILE *f = fopen(path, "rb");
	char body[1 << 16], host[64];
	size_t blen;
	int hl;

	if (!f)
		die(path);
	blen = fread(body, 1, sizeof(body), f);
	fclose(f);
	snprintf(host, sizeof(host), "127.0.0.1:%d", o.port);
	o.req = malloc(blen + 512);
	if (!o.req)
		die("malloc");
	hl = snprintf(o.req, 512, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json"
		      "\r\nContent-Length: %zu\r\n\r\n", o.path, host, blen);
	memcpy(o.req + hl, body, blen);
	o.req_len = (size_t)hl + blen;
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", 1, NULL, 'p' }, { "path", 1, NULL, 'P' }, { "body", 1, NULL, 'b' },
		{ "rate", 1, NULL, 'r' }, { "connections", 1, NULL, 'c' },
		{ "duration", 1, NULL, 'd' }, { "warmup", 1, NULL, 'w' },
		{ "expect", 1, NULL, 'e' }, { "pids", 1, NULL, 'i' }, { NULL, 0, NULL, 0 },
	};
	const char *body = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p': o.port = atoi(optarg); break;
		case 'P': o.path = optarg; break;
		case 'b': body = optarg; break;
		case 'r': o.rate = strtod(optarg, NULL); break;
		case 'c': o.nconns = (unsigned)atoi(optarg); break;
		case 'd': o.duration = strtod(optarg, NULL); break;
		case 'w': o.warmup = strtod(optarg, NULL); break;
		case 'e': o.expect = optarg; break;
		case 'i':
			for (char *s = optarg, *e; *s && o.npids < MAX_PIDS; s = *e ? e + 1 : e)
				o.pids[o.npids++] = (pid_t)strtol(s, &e, 10);
			break;
		default:
			fprintf(stderr, "usage: see the comment at the top of loadgen.c\n");
			exit(2);
		}
	}
	if (!o.port || !o.path || !body || o.nconns < 1 || o.nconns > MAX_CONNS ||
	    o.rate < 0 || o.duration <= 0 || o.warmup < 0) {
		fprintf(stderr, "bench-mesh-load: --port, --path, --body needed; 1-%d connections\n",
			MAX_CONNS);
		exit(2);
	}
	load_body(body);
}

int main(int argc, char **argv)
{
	clockid_t clk[MAX_PIDS];
	uint64_t cpu0[MAX_PIDS], cpu1[MAX_PIDS], self0 = 0, self1 = 0;
	uint64_t t0, t_meas, t_end, t_stop, next_due, due_i = 0, issued = 0;
	uint64_t period;
	unsigned idle_n;
	bool measuring = false, ended = false;
	struct conn *idle[MAX_CONNS];

	parse(argc, argv);
	prctl(PR_SET_TIMERSLACK, 1UL);
	for (unsigned i = 0; i < o.npids; i++)
		if (clock_getcpuclockid(o.pids[i], &clk[i]))
			die("clock_getcpuclockid");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	for (unsigned i = 0; i < o.nconns; i++)
		conn_open(&conns[i]);
	period = o.rate > 0 ? (uint64_t)(1e9 / o.rate) : 0;
	t0 = now_ns();
	t_meas = t0 + (uint64_t)(o.warmup * 1e9);
	t_end = t_meas + (uint64_t)(o.duration * 1e9);
	t_stop = t_end + 2000000000u; /* replies still due get 2 s more */
	next_due = t0;
	for (;;) {
		struct epoll_event ev[64];
		uint64_t t = now_ns();
		int n;

		if (!measuring && t >= t_meas) {
			measuring = true;
			for (unsigned i = 0; i < o.npids; i++)
				cpu0[i] = cpu_ns(clk[i]);
			self0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
		}
		if (!ended && t >= t_end) {
			ended = true;
			for (unsigned i = 0; i < o.npids; i++)
				cpu1[i] = cpu_ns(clk[i]);
			self1 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
		}
		idle_n = 0;
		for (unsigned i = 0; i < o.nconns; i++)
			if (!conns[i].busy)
				idle[idle_n++] = &conns[i];
		if (ended && idle_n == o.nconns)
			break;
		if (t >= t_stop) {
			for (unsigned i = 0; i < o.nconns; i++)
				if (conns[i].busy && conns[i].counted)
					fail("no reply within 2 s of the window's end");
			break;
		}
		/* Send what is due, oldest first, on idle connections. */
		while (idle_n && next_due <= t && next_due < t_end) {
			uint64_t due = period ? next_due : t;

			if (period && t - due > 1000000)
				sent_late++;
			conn_send(idle[--idle_n], due, due >= t_meas);
			issued++;
			due_i++;
			next_due = period ? t0 + due_i * period : t;
		}
		/* Sleep until the next request is due or the window's next edge. */
		uint64_t until = ended ? t_stop : measuring ? t_end : t_meas;
		if (!ended && period && next_due > t && next_due < until)
			until = next_due;
		int64_t wait_ns = until > t ? (int64_t)(until - t) : 0;
		struct timespec ts = { .tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000 };
		n = epoll_pwait2(ep, ev, 64, &ts, NULL);
		if (n < 0 && errno != EINTR)
			die("epoll_pwait2");
		t = now_ns();
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;

			if (conn_read(c, t) && !period && !ended && t < t_end) {
				conn_send(c, t, t >= t_meas);
				issued++;
			}
		}
	}
	if (!ended) {
		for (unsigned i = 0; i < o.npids; i++)
			cpu1[i] = cpu_ns(clk[i]);
		self1 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	}
	if (nlat)
		qsort(lat, nlat, sizeof(*lat), cmp_u64);
	uint64_t sum = 0;
	for (size_t i = 0; i < nlat; i++)
		sum += lat[i];
	printf("{\"ok\": %s, \"rate\": %g, \"connections\": %u, \"duration_s\": %g, "
	       "\"requests\": %zu, \"achieved_rps\": %.1f, \"errors\": %" PRIu64 ", "
	       "\"sent_late_1ms\": %" PRIu64 ", \"lat_ns\": {\"p50\": %" PRIu64 ", \"p90\": %"
	       PRIu64 ", \"p99\": %" PRIu64 ", \"p999\": %" PRIu64 ", \"max\": %" PRIu64
	       ", \"mean\": %" PRIu64 "}, \"self_cpu_ns\": %" PRIu64 ", \"cpu_ns\": {",
	       errors || !nlat ? "false" : "true", o.rate, o.nconns, o.duration, nlat,
	       (double)nlat / o.duration, errors, sent_late, pct(0.5), pct(0.9), pct(0.99),
	       pct(0.999), nlat ? lat[nlat - 1] : 0, nlat ? sum / nlat : 0, self1 - self0);
	for (unsigned i = 0; i < o.npids; i++)
		printf("%s\"%d\": %" PRIu64, i ? ", " : "", (int)o.pids[i], cpu1[i] - cpu0[i]);
	printf("}");
	if (first_error[0]) {
		printf(", \"error\": \"");
		for (const char *p = first_error; *p; p++)
			if (*p >= 0x20 && *p != '"' && *p != '\\')
				putchar(*p);
		printf("\"");
	} else if (!nlat) {
		printf(", \"error\": \"no request completed in the window\"");
	}
	printf("}\n");
	return errors || !nlat ? 1 : 0;
}
