/* SPDX-License-Identifier: MIT */
/*
 * Single-thread memcpy bandwidth of this machine, for the 1 MiB target.
 * Copies a 1 MiB block between two buffers (what one 1 MiB call must do at
 * least once, caches warm) and a 64 MiB block (larger than the last-level
 * cache: memory bandwidth). Reports the best of several timed rounds, in
 * bytes copied per second, as one JSON line.
 * Usage: memcpy_bw [--cpu N] [seconds-per-size, default 0.3]
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double measure(size_t size, double secs)
{
	unsigned char *a = malloc(size), *b = malloc(size);
	double best = 0;
	uint64_t end;

	if (!a || !b) {
		fprintf(stderr, "memcpy_bw: out of memory\n");
		exit(1);
	}
	memset(a, 1, size);
	memset(b, 2, size);
	memcpy(b, a, size); /* warm */
	end = now_ns() + (uint64_t)(secs * 1e9);
	while (now_ns() < end) {
		unsigned reps = size >= (32u << 20) ? 1 : 16;
		uint64_t t0 = now_ns();
		for (unsigned i = 0; i < reps; i++) {
			memcpy((i & 1) ? a : b, (i & 1) ? b : a, size);
			__asm__ volatile("" ::: "memory");
		}
		uint64_t dt = now_ns() - t0;
		double bw = (double)size * reps / ((double)dt / 1e9);
		if (bw > best)
			best = bw;
	}
	free(a);
	free(b);
	return best;
}

int main(int argc, char **argv)
{
	double secs = 0.3;
	int i = 1;

	if (argc > 2 && !strcmp(argv[1], "--cpu")) {
		cpu_set_t s;
		CPU_ZERO(&s);
		CPU_SET(atoi(argv[2]), &s);
		sched_setaffinity(0, sizeof(s), &s);
		i = 3;
	}
	if (i < argc)
		secs = atof(argv[i]);
	double small = measure((size_t)1 << 20, secs);
	double big = measure((size_t)64 << 20, secs);
	printf("{\"memcpy_1MiB_Bps\": %.0f, \"memcpy_64MiB_Bps\": %.0f}\n", small, big);
	return 0;
}
