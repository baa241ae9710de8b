// SPDX-License-Identifier: MIT
/*
 * Print the host's TSC rate in kHz. Under TCG the guest's RDTSC returns the
 * host's TSC, so this is the guest's rate too, and the guest kernel, which
 * can only calibrate against an emulated PIT that TCG runs too unevenly to
 * trust, is told it with tsc_early_khz=.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	double t0 = now(), t1;
	uint64_t c0 = __rdtsc(), c1;

	do {
		t1 = now();
	} while (t1 - t0 < 0.2);
	c1 = __rdtsc();
	printf("%.0f\n", (double)(c1 - c0) / (t1 - t0) / 1000.0);
	return 0;
}
