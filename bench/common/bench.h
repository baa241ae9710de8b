/* SPDX-License-Identifier: MIT */
/*
 * The part every contender shares: command line, CPU pinning, and the
 * closed-loop client driver that times calls and prints one JSON line.
 *
 * Each contender is one binary with two modes:
 *
 *   NAME server --listen ADDR [--threads N] [--max-size B] [--cpu LIST]
 *       prints "READY <addr>" on stdout once clients may connect, then
 *       serves until SIGTERM or SIGINT and exits 0.
 *   NAME client --connect ADDR --size B [--threads N] [--duration S]
 *       [--warmup S] [--cpu LIST] [--server-pid PID] [--opt STRING]
 *       [--workload echo|stream|async] [--depth N]
 *       runs N threads, each calling in a closed loop (one call in flight
 *       per thread), and prints one JSON object on stdout. With
 *       --workload stream each thread instead opens one server-streaming
 *       call that pours --size byte messages and reads them as fast as
 *       they come; "throughput" is then messages per second. With
 *       --workload async each thread keeps --depth calls (default 64) in
 *       flight at once through the contender's asynchronous API.
 *
 * A contender fills a bench_client_ops; bench_client_main() does the rest.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bench_opts {
	const char *mode;    /* "server" or "client" */
	const char *addr;    /* --listen / --connect */
	const char *cpus;    /* --cpu "0", "1", "0-1", NULL: unpinned */
	const char *opt;     /* --opt: contender-specific (lrpc: hand-off) */
	size_t size;         /* --size: payload bytes */
	size_t max_size;     /* --max-size: largest payload a server accepts */
	unsigned threads;    /* --threads */
	double duration;     /* --duration: measured seconds */
	double warmup;       /* --warmup: seconds before measuring */
	pid_t server_pid;    /* --server-pid: for the server's CPU time */
	int stream;          /* --workload stream */
	int async;           /* --workload async */
	unsigned depth;      /* --depth: async calls in flight per thread */
} bench_opts;

/* Parse argv[1..] into *o; prints usage and exits 2 on error. */
void bench_parse(int argc, char **argv, bench_opts *o);

/* Pin the calling thread (and threads it creates later) to o->cpus. */
void bench_pin(const bench_opts *o);

/* Print "READY <addr>" and flush; servers call it once listening. */
void bench_ready(const char *addr);

/* Block SIGTERM/SIGINT in the caller (call before creating threads) and
 * wait for one of them. */
void bench_block_signals(void);
void bench_wait_signal(void);

/* Monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);

/* Print to stderr "NAME: msg" and exit 1. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

typedef struct bench_client_ops {
	const char *name;
	/* Connect one client thread. Returns a per-thread context or NULL
	 * (after printing why). */
	void *(*connect)(const bench_opts *o, unsigned thread_idx);
	/* One call: send req[0..len), wait for the echo. On success returns 0
	 * and points *rep at the reply (valid until the next call on ctx). */
	int (*call)(void *ctx, const void *req, size_t len,
		    const void **rep, size_t *rep_len);
	void (*close)(void *ctx);
	/* Optional: a JSON fragment ("\"key\": value") describing the
	 * connection, e.g. the lazyrpc hand-off in use; NULL if none. */
	const char *(*describe)(void *ctx);
	/* --workload stream, optional (NULL: the contender has no streams).
	 * Open a server stream of \p size byte messages, each stamped by
	 * bench_pour_stamp() with 0, 1, 2, ...; NULL on failure (printed). */
	void *(*pour_open)(void *ctx, size_t size);
	/* Wait for the next message: 0 and *msg, *len (valid until the next
	 * call), or -1 (printed). */
	int (*pour_next)(void *stream, const void **msg, size_t *len);
	/* Cancel the stream and release it. */
	void (*pour_close)(void *stream);
	/* --workload async, optional (NULL: no asynchronous API). From this
	 * one thread, keep \p depth calls of req[0..len) in flight, starting
	 * another as each finishes, until \p done returns nonzero; \p done
	 * gets each reply (valid during the call) and the call's latency.
	 * Returns 0 once every call has finished, or -1 (printed). */
	int (*async_loop)(void *ctx, const void *req, size_t len, unsigned depth,
			  int (*done)(void *arg, const void *rep, size_t rep_len,
				      uint64_t lat_ns),
			  void *arg);
} bench_client_ops;

/* Servers of --workload stream: stamp message \p seq of \p len bytes. */
void bench_pour_stamp(unsigned char *buf, size_t len, uint64_t seq);

/* Run the client: returns the process exit code. */
int bench_client_main(const bench_opts *o, const bench_client_ops *ops);

#ifdef __cplusplus
}
#endif
#endif
