// SPDX-License-Identifier: MIT
// ktest: early pie timeout=180
/*
 * An importer never sees a page the owner has unmapped (patch 7's TLB
 * fan-out). Owner A on CPU 0 and importer B on CPU 1 share A's slot. A
 * has a memfd whose page g holds the value g, and for g = 1, 2, ... moves
 * page g to one address X: munmap() then mmap(MAP_FIXED), a MAP_FIXED
 * mmap() over the old page, or mremap(MREMAP_FIXED) of page g mapped
 * elsewhere; after each call returns it publishes g. B loops: load the
 * published g (acquire), then load *X (SIGSEGV while X is unmapped is
 * fine). Every old page stays in the memfd with its old value, so a TLB
 * entry B kept past A's munmap would show B a value below the g it had
 * already seen published: that is the failure. Without the fan-out, the
 * flush of A's munmap() reaches only the CPUs running A and B reads the
 * first page it cached for ever.
 *
 * B must also see at least MIN_SEEN different values, so that a run
 * where B never overlapped A does not pass.
 */
#include "rpal_share.h"

#define SELF "/tests/rpal_share_race"
#define PAGE 4096
#define GENS 300
#define MIN_SEEN 20

struct ctl {
	uint64_t key[2];
	int imported;
	int done;
	uint64_t x;
	uint64_t gen;
	/* What B saw: reads, faults, distinct values, first stale pair. */
	uint64_t reads, faults, seen, stale, stale_v, stale_g;
};

static int rpal_fd;
static struct ctl *ctl;

static void owner(void)
{
	int memfd = memfd_create("rpal-race", 0);
	uint32_t id_b;
	uint64_t g;
	char *x, *y;

	pin_to(0);
	CHECK_OK(memfd);
	CHECK_OK(ftruncate(memfd, (GENS + 1) * (off_t)PAGE));
	for (g = 0; g <= GENS; g++)
		CHECK(pwrite(memfd, &g, sizeof(g), g * PAGE) == sizeof(g));
	x = mmap(NULL, PAGE, PROT_READ, MAP_SHARED | MAP_POPULATE, memfd, 0);
	CHECK(x != MAP_FAILED);
	ctl->x = (uintptr_t)x;

	__atomic_store_n(&ctl->key[0], rpal_enable_key(rpal_fd),
			 __ATOMIC_RELEASE);
	id_b = rpal_request_key(rpal_fd, &ctl->key[1]);
	share_when_requested(rpal_fd, id_b);
	step_wait(&ctl->imported, 1);

	for (g = 1; g <= GENS; g++) {
		switch (g % 3) {
		case 0:
			CHECK_OK(munmap(x, PAGE));
			y = mmap(x, PAGE, PROT_READ,
				 MAP_SHARED | MAP_FIXED | MAP_POPULATE,
				 memfd, g * PAGE);
			break;
		case 1:
			y = mmap(x, PAGE, PROT_READ,
				 MAP_SHARED | MAP_FIXED | MAP_POPULATE,
				 memfd, g * PAGE);
			break;
		default:
			y = mmap(NULL, PAGE, PROT_READ,
				 MAP_SHARED | MAP_POPULATE, memfd, g * PAGE);
			CHECK(y != MAP_FAILED);
			y = mremap(y, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
				   x);
			break;
		}
		CHECK(y == x);
		__atomic_store_n(&ctl->gen, g, __ATOMIC_RELEASE);
	}
	step_set(&ctl->done, 1);
}

static void importer(void)
{
	uint64_t g, v, last = ~0ULL;
	volatile uint64_t *x;
	uint32_t id_a;
	long slot;

	pin_to(1);
	catch_faults();
	__atomic_store_n(&ctl->key[1], rpal_enable_key(rpal_fd),
			 __ATOMIC_RELEASE);
	id_a = rpal_request_key(rpal_fd, &ctl->key[0]);
	/* A shares once it has requested B too. */
	do {
		slot = ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id_a);
		if (slot < 0 && errno != EPERM)
			FAIL("import: %s", strerror(errno));
		if (slot < 0)
			sched_yield();
	} while (slot < 0);
	x = (volatile uint64_t *)(uintptr_t)ctl->x;
	step_set(&ctl->imported, 1);

	while (!__atomic_load_n(&ctl->done, __ATOMIC_ACQUIRE)) {
		g = __atomic_load_n(&ctl->gen, __ATOMIC_ACQUIRE);
		if (try_read(x, &v)) {
			ctl->faults++;
			continue;
		}
		ctl->reads++;
		if (v != last)
			ctl->seen++;
		last = v;
		if (v < g && !ctl->stale++) {
			ctl->stale_v = v;
			ctl->stale_g = g;
		}
	}
}

int main(int argc, char **argv)
{
	int fd;

	rpal_fd = rpal_open();
	share_start(rpal_fd, argc, argv, (void **)&ctl, sizeof(*ctl), owner,
		    importer);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("needs 2 CPUs\n");
		return T_SKIP;
	}
	ctl = ctl_create(sizeof(*ctl), &fd);
	run_pair(rpal_fd, SELF, fd);
	printf("importer: %llu reads, %llu faults, %llu values seen\n",
	       (unsigned long long)ctl->reads, (unsigned long long)ctl->faults,
	       (unsigned long long)ctl->seen);
	if (ctl->stale)
		FAIL("%llu stale reads; first: value %llu after %llu was published",
		     (unsigned long long)ctl->stale,
		     (unsigned long long)ctl->stale_v,
		     (unsigned long long)ctl->stale_g);
	if (ctl->seen < MIN_SEEN)
		FAIL("importer saw only %llu values", (unsigned long long)ctl->seen);
	return T_PASS;
}
