// SPDX-License-Identifier: MIT
/*
 * The program tests/kernel/rpal_slot.c starts in (or out of) an RPAL
 * slot, built twice by tests/kernel/run: as a dynamically linked PIE
 * (slot_probe, with ld.so, libc and libslotlib.so in the initramfs) and as
 * a static PIE (slot_probe_static, no dlopen). Modes:
 *
 *   inside  it has a slot, and everything it maps lands there: every line
 *           of /proc/self/maps, the program, interpreter, libc, vDSO,
 *           stack, small and large malloc, a thread's stack, mmap of
 *           anonymous and shared memory, shmat and a dlopen()ed library;
 *           nothing it tries puts a mapping outside (MAP_FIXED,
 *           MAP_FIXED_NOREPLACE, mremap, shmat, brk) and a stack stops
 *           at the slot's lower edge; a fork child has no slot.
 *   plain   it has no slot and the default layout, above every slot.
 *   hold    it has a slot: prints its number, waits for EOF on stdin.
 *
 * Exit 0 when every check holds, 1 otherwise (the reason on stderr).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/rpal.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#ifndef SLOT_PROBE_STATIC
#include <dlfcn.h>
#endif

#define FAIL(...) do { \
	fprintf(stderr, "FAIL slot_probe:%d: ", __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); \
} while (0)
#define CHECK(c) do { if (!(c)) FAIL("%s", #c); } while (0)
/* A call that must fail with errno e. */
#define CHECK_ERR(r, bad, e) do { \
	errno = 0; \
	if ((r) != (bad) || errno != (e)) \
		FAIL("%s: errno %d (%s), want %s", #r, errno, \
		     strerror(errno), #e); \
} while (0)

int main(int argc, char **argv);

static uintptr_t lo, hi;	/* the slot, [lo, hi) */
static const size_t pg = 4096;

static void in_slot(const char *what, uintptr_t a, size_t len)
{
	if (a < lo || a + len > hi || a + len < a)
		FAIL("%s at %#" PRIxPTR "+%#zx, outside the slot [%#" PRIxPTR
		     ", %#" PRIxPTR ")", what, a, len, lo, hi);
}

static void above_slots(const char *what, uintptr_t a)
{
	if (a < (uintptr_t)(RPAL_NR_SLOTS + 1) << RPAL_SLOT_SHIFT)
		FAIL("%s at %#" PRIxPTR ", not above the slots", what, a);
}

static int slot_of_me(void)
{
	int fd = open("/dev/rpal", O_RDWR | O_CLOEXEC);
	int slot;

	if (fd < 0)
		FAIL("/dev/rpal: %s", strerror(errno));
	slot = ioctl(fd, RPAL_IOC_GET_SLOT);
	if (slot < 0)
		FAIL("RPAL_IOC_GET_SLOT: %s", strerror(errno));
	close(fd);
	return slot;
}

/* Every mapping of the process, [vsyscall] aside (a fixmap, no VMA). */
static void maps_in_slot(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uintptr_t a, b;
	int n = 0;

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "[vsyscall]"))
			continue;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &a, &b) != 2)
			FAIL("maps line: %s", line);
		line[strcspn(line, "\n")] = 0;
		in_slot(line, a, b - a);
		n++;
	}
	fclose(f);
	CHECK(n > 5);
}

static void *thread_main(void *arg)
{
	pthread_attr_t attr;
	void *stack;
	size_t size;
	int local;

	(void)arg;
	in_slot("thread's local", (uintptr_t)&local, sizeof(local));
	CHECK(!pthread_getattr_np(pthread_self(), &attr));
	CHECK(!pthread_attr_getstack(&attr, &stack, &size));
	in_slot("thread's stack", (uintptr_t)stack, size);
	pthread_attr_destroy(&attr);
	return NULL;
}

static void *map(void *addr, size_t len, int flags)
{
	return mmap(addr, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

static void where_things_land(void)
{
	void *small = malloc(64), *large = malloc(64 << 20), *p;
	pthread_t t;
	int local, fd, id;

	in_slot("main()", (uintptr_t)&main, 1);
	in_slot("stack", (uintptr_t)&local, sizeof(local));
	in_slot("printf()", (uintptr_t)&printf, 1);
	in_slot("vDSO", getauxval(AT_SYSINFO_EHDR), pg);
#ifndef SLOT_PROBE_STATIC
	in_slot("interpreter", getauxval(AT_BASE), pg);
#endif
	in_slot("brk", (uintptr_t)sbrk(0), 0);
	CHECK(small && large);
	in_slot("malloc(64)", (uintptr_t)small, 64);
	in_slot("malloc(64 MiB)", (uintptr_t)large, 64 << 20);
	free(small);
	free(large);
	CHECK(!pthread_create(&t, NULL, thread_main, NULL));
	CHECK(!pthread_join(t, NULL));
	p = map(NULL, 1 << 20, 0);
	CHECK(p != MAP_FAILED);
	in_slot("mmap", (uintptr_t)p, 1 << 20);
	munmap(p, 1 << 20);
	fd = memfd_create("slot", MFD_CLOEXEC);
	CHECK(fd >= 0 && !ftruncate(fd, 1 << 20));
	p = mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	in_slot("mmap of a memfd", (uintptr_t)p, 1 << 20);
	munmap(p, 1 << 20);
	close(fd);
	p = mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	in_slot("shared anonymous mmap", (uintptr_t)p, 1 << 20);
	munmap(p, 1 << 20);
	id = shmget(IPC_PRIVATE, pg, IPC_CREAT | 0600);
	CHECK(id >= 0);
	p = shmat(id, NULL, 0);
	CHECK(p != (void *)-1);
	in_slot("shmat", (uintptr_t)p, pg);
	shmdt(p);
	shmctl(id, IPC_RMID, NULL);
#ifndef SLOT_PROBE_STATIC
	{
		void *lib = dlopen("/tests/libslotlib.so", RTLD_NOW);
		int (*fn)(void);

		if (!lib)
			FAIL("dlopen: %s", dlerror());
		fn = (int (*)(void))dlsym(lib, "slotlib_answer");
		CHECK(fn && fn() == 42);
		in_slot("dlopen()ed function", (uintptr_t)fn, 1);
		maps_in_slot();
		dlclose(lib);
	}
#endif
	maps_in_slot();
}

static void nothing_lands_outside(int slot)
{
	/* Another slot, slot 0 and the default layout's range. */
	uintptr_t other = (uintptr_t)(slot == 1 ? 2 : slot - 1) << RPAL_SLOT_SHIFT;
	uintptr_t outside[] = { other, other + (1UL << 30), 1UL << 30,
				0x7f0000000000UL };
	uintptr_t cur;
	unsigned int i;
	void *p, *q;
	int id;

	for (i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		CHECK_ERR(map((void *)outside[i], pg, MAP_FIXED), MAP_FAILED,
			  ENOMEM);
		CHECK_ERR(map((void *)outside[i], pg, MAP_FIXED_NOREPLACE),
			  MAP_FAILED, ENOMEM);
		/* A hint outside is ignored, not refused. */
		p = map((void *)outside[i], pg, 0);
		CHECK(p != MAP_FAILED);
		in_slot("mmap with a hint outside", (uintptr_t)p, pg);
		munmap(p, pg);
	}
	/* Straddling either edge. */
	CHECK_ERR(map((void *)(lo - pg), 2 * pg, MAP_FIXED), MAP_FAILED, ENOMEM);
	CHECK_ERR(map((void *)(hi - pg), 2 * pg, MAP_FIXED_NOREPLACE),
		  MAP_FAILED, ENOMEM);
	/* The slot's own edges are fine. */
	p = map((void *)lo, pg, MAP_FIXED_NOREPLACE);
	CHECK(p == (void *)lo);
	CHECK(!munmap(p, pg));

	p = map(NULL, pg, 0);
	CHECK(p != MAP_FAILED);
	CHECK_ERR(mremap(p, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED,
			 (void *)other), MAP_FAILED, ENOMEM);
	CHECK_ERR(mremap(p, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED,
			 (void *)(lo - pg)), MAP_FAILED, ENOMEM);
	munmap(p, pg);
	/* Growing in place across the top edge, when the top page is free. */
	q = map((void *)(hi - pg), pg, MAP_FIXED_NOREPLACE);
	if (q != MAP_FAILED) {
		CHECK_ERR(mremap(q, pg, 2 * pg, 0), MAP_FAILED, ENOMEM);
		munmap(q, pg);
	} else {
		CHECK(errno == EEXIST);
		fprintf(stderr, "slot_probe: top page in use, mremap growth across the edge not tried\n");
	}

	id = shmget(IPC_PRIVATE, pg, IPC_CREAT | 0600);
	CHECK(id >= 0);
	CHECK_ERR(shmat(id, (void *)other, 0), (void *)-1, ENOMEM);
	CHECK_ERR(shmat(id, (void *)0x7f0000000000UL, 0), (void *)-1, ENOMEM);
	shmctl(id, IPC_RMID, NULL);

	/* brk() answers a refused move with the break it keeps. */
	cur = (uintptr_t)syscall(SYS_brk, 0);
	CHECK((uintptr_t)syscall(SYS_brk, hi + pg) == cur);
	CHECK((uintptr_t)syscall(SYS_brk, other) == cur);
}

static sigjmp_buf segv_jmp;
static volatile uintptr_t segv_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	segv_addr = (uintptr_t)si->si_addr;
	siglongjmp(segv_jmp, 1);
}

/* A MAP_GROWSDOWN mapping near the slot's bottom grows to it, no further. */
static void stack_stops_at_edge(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	volatile char *g;

	g = map((void *)(lo + 16 * pg), 4 * pg, MAP_GROWSDOWN | MAP_FIXED_NOREPLACE);
	CHECK(g == (void *)(lo + 16 * pg));
	g[0] = 1;
	/* Growth inside the slot works, down to its first page. */
	*(volatile char *)(lo + 8 * pg) = 1;
	*(volatile char *)lo = 1;
	CHECK(!sigaction(SIGSEGV, &sa, NULL));
	if (!sigsetjmp(segv_jmp, 1)) {
		*(volatile char *)(lo - 1) = 1;
		FAIL("the stack grew below the slot to %#" PRIxPTR, lo - 1);
	}
	CHECK(segv_addr == lo - 1);
	signal(SIGSEGV, SIG_DFL);
	munmap((void *)lo, 20 * pg);
}

/* A fork child has no slot: it keeps its copy of the mappings, unconfined. */
static void fork_child_has_none(void)
{
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (!pid) {
		void *p;

		if (slot_of_me() != 0)
			_exit(2);
		p = map((void *)0x7f0000000000UL, pg, MAP_FIXED_NOREPLACE);
		_exit(p == (void *)0x7f0000000000UL ? 0 : 3);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		FAIL("fork child: status %#x (2: it has a slot, 3: it is confined)",
		     status);
}

static void plain(void)
{
	void *large = malloc(64 << 20);
	int local;

	CHECK(slot_of_me() == 0);
	above_slots("main()", (uintptr_t)&main);
	above_slots("stack", (uintptr_t)&local);
	above_slots("printf()", (uintptr_t)&printf);
	above_slots("vDSO", getauxval(AT_SYSINFO_EHDR));
	CHECK(large);
	above_slots("malloc(64 MiB)", (uintptr_t)large);
	free(large);
}

int main(int argc, char **argv)
{
	int slot;
	char c;

	if (argc != 2)
		FAIL("usage: slot_probe inside|plain|hold");
	if (!strcmp(argv[1], "plain")) {
		plain();
		return 0;
	}
	slot = slot_of_me();
	if (slot < 1 || slot > RPAL_NR_SLOTS)
		FAIL("slot %d: not in a slot", slot);
	lo = (uintptr_t)slot << RPAL_SLOT_SHIFT;
	hi = lo + RPAL_SLOT_SIZE;
	if (!strcmp(argv[1], "hold")) {
		printf("%d\n", slot);
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
		return 0;
	}
	if (strcmp(argv[1], "inside"))
		FAIL("unknown mode %s", argv[1]);
	where_things_land();
	nothing_lands_outside(slot);
	stack_stops_at_edge();
	fork_child_has_none();
	return 0;
}
