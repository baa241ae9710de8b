// SPDX-License-Identifier: MIT
/*
 * Forged CALL word, receiver faulting pages in (down_read of mmap_lock)
 * while other threads mprotect a large mapping (down_write): rwsem hands
 * the lock to the reader before waking it.
 */
// ktest: timeout=120
#include "rpal_forged.h"

#define BIG (64UL << 20)

static char *big, *page;

static void setup(void)
{
	big = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(big != MAP_FAILED && page != MAP_FAILED);
}

static void *contend(void *arg)
{
	(void)arg;
	for (;;) {
		mprotect(big, BIG, PROT_READ);
		mprotect(big, BIG, PROT_READ | PROT_WRITE);
	}
	return NULL;
}

static void op(void)
{
	/* A fresh fault each time: mmap_read_lock(). */
	madvise(page, 4096, MADV_DONTNEED);
	*(volatile char *)page = 1;
}

int main(void)
{
	static const struct forged_ops ops = { setup, contend, 1, op };

	return forged_run(&ops);
}
