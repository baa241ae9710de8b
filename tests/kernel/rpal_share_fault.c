// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * Faults and futexes at imported addresses (patch 8); B imports A's slot.
 *
 * - B writes each of PAGES pages A mapped but never touched: no signal,
 *   A reads B's values, and the pages are charged to A (A's RssAnon grows
 *   by all of them, B's by less than half as much);
 * - a private futex at an imported address is A's: A waits on a word and
 *   B's FUTEX_WAKE_PRIVATE there wakes it; B waits on a word in a page
 *   of A's that nobody touched yet (the futex code faults it in through
 *   A) and A's own wake wakes B. The waits time out after 10 s, which
 *   fails the test: with keys of the importer's own mm each wake would
 *   find nobody.
 */
#include "rpal_share.h"
#include <linux/futex.h>
#include <sys/syscall.h>

#define SELF "/tests/rpal_share_fault"
#define PAGE 4096
#define PAGES 64

struct ctl {
	uint64_t key[2];
	int step;
	uint64_t buf;		/* PAGES untouched pages of A's */
	uint64_t word;		/* A's futex word, in a touched page */
	uint64_t word2;		/* B's futex word, in an untouched page of A's */
	long b_rss_delta;
	int gave_up_a, gave_up_b;	/* a wait ended without a wake */
};

static int rpal_fd;
static struct ctl *ctl;

static long rss_anon_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	CHECK(kb >= 0);
	return kb;
}

static long futex(volatile uint32_t *w, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

/* Wait on @w (0) for up to 10 s; 0 if woken, else what ended it. */
static int wait_on(volatile uint32_t *w)
{
	struct timespec ts = { .tv_sec = 10 };

	if (futex(w, FUTEX_WAIT_PRIVATE, 0, &ts) == 0)
		return 0;
	return errno;
}

/* Wake @w until it wakes someone, or the waiter has given up. */
static void wake_until(volatile uint32_t *w, int *gave_up)
{
	long n;

	while (!__atomic_load_n(gave_up, __ATOMIC_ACQUIRE)) {
		n = futex(w, FUTEX_WAKE_PRIVATE, 1, NULL);
		CHECK_OK(n);
		if (n == 1)
			return;
		sched_yield();
	}
}

static void owner(void)
{
	volatile uint32_t *word, *word2;
	char *buf, *words;
	long rss0, delta;
	uint32_t id_b;
	int i, err;

	buf = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	words = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED && words != MAP_FAILED);
	word = (volatile uint32_t *)words;
	word2 = (volatile uint32_t *)(words + PAGE);
	*word = 0;
	ctl->buf = (uintptr_t)buf;
	ctl->word = (uintptr_t)word;
	ctl->word2 = (uintptr_t)word2;
	rss0 = rss_anon_kb();
	__atomic_store_n(&ctl->key[0], rpal_enable_key(rpal_fd),
			 __ATOMIC_RELEASE);
	id_b = rpal_request_key(rpal_fd, &ctl->key[1]);
	share_when_requested(rpal_fd, id_b);
	step_set(&ctl->step, 1);

	step_wait(&ctl->step, 2);
	for (i = 0; i < PAGES; i++)
		if (*(uint64_t *)(buf + i * PAGE) != (uint64_t)i + 1)
			FAIL("page %d of A: %llu, B wrote %d", i,
			     (unsigned long long)*(uint64_t *)(buf + i * PAGE),
			     i + 1);
	delta = rss_anon_kb() - rss0;
	if (delta < PAGES * PAGE / 1024)
		FAIL("A's RssAnon grew by %ld kB for B's %d pages", delta,
		     PAGES);
	if (ctl->b_rss_delta >= PAGES * PAGE / 1024 / 2)
		FAIL("B's RssAnon grew by %ld kB", ctl->b_rss_delta);

	step_set(&ctl->step, 3);
	err = wait_on(word);
	if (err) {
		__atomic_store_n(&ctl->gave_up_a, 1, __ATOMIC_RELEASE);
		FAIL("A's wait, for B's wake: %s", strerror(err));
	}
	wake_until(word2, &ctl->gave_up_b);
	step_wait(&ctl->step, 4);
}

static void importer(void)
{
	volatile uint32_t *word2;
	uint32_t id_a;
	long rss0;
	int i, err;

	catch_faults();
	__atomic_store_n(&ctl->key[1], rpal_enable_key(rpal_fd),
			 __ATOMIC_RELEASE);
	id_a = rpal_request_key(rpal_fd, &ctl->key[0]);
	step_wait(&ctl->step, 1);
	CHECK_OK(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id_a));

	rss0 = rss_anon_kb();
	for (i = 0; i < PAGES; i++)
		if (try_write((uint64_t *)(uintptr_t)(ctl->buf + i * PAGE),
			      i + 1))
			FAIL("B's write to page %d of A: signal %d at %p", i,
			     fault_sig, fault_addr);
	ctl->b_rss_delta = rss_anon_kb() - rss0;
	step_set(&ctl->step, 2);

	step_wait(&ctl->step, 3);
	wake_until((volatile uint32_t *)(uintptr_t)ctl->word, &ctl->gave_up_a);
	word2 = (volatile uint32_t *)(uintptr_t)ctl->word2;
	err = wait_on(word2);
	if (err) {
		__atomic_store_n(&ctl->gave_up_b, 1, __ATOMIC_RELEASE);
		FAIL("B's wait at A's address, for A's wake: %s",
		     strerror(err));
	}
	step_set(&ctl->step, 4);
}

int main(int argc, char **argv)
{
	int fd;

	rpal_fd = rpal_open();
	share_start(rpal_fd, argc, argv, (void **)&ctl, sizeof(*ctl), owner,
		    importer);
	ctl = ctl_create(sizeof(*ctl), &fd);
	run_pair(rpal_fd, SELF, fd);
	return T_PASS;
}
