// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * RPAL slot sharing (patch 7): A and B run in slots as uid 1000, C without
 * a slot; the parent only starts them and reaps them.
 *
 * - an import needs the requests both ways (EPERM before), the owner's
 *   RPAL_IOC_SHARE_SLOT (EPERM before) and ptrace rights at that moment
 *   (EPERM while the owner is not dumpable); a service never requested is
 *   ENOENT, a peer without a slot ENXIO, a caller without one EINVAL, a
 *   second import EEXIST;
 * - B reads what A wrote and A sees what B wrote, both ways in time; a
 *   write to A's read-only page is SIGSEGV in B; vmsplice() of an
 *   imported address is EFAULT (GUP), write() from it works (uaccess);
 *   where A has no mapping B gets SIGSEGV too (rpal_share_fault.c: where
 *   A has one, B's fault is A's to handle);
 * - a fork child of B imports nothing: SIGSEGV, and it is no service;
 * - A imports B too; B exits: A's import of B gives SIGSEGV at the
 *   address, A's own memory and mappings are fine and A exits cleanly.
 *
 * "early": imports turn the share key on and off, and slotted execs the
 * slot key (see rpal_slot.c and tests/kernel/guest-init).
 */
#include "rpal_share.h"
#include <sys/uio.h>

#define SELF "/tests/rpal_share"
#define UID 1000
#define PAGE 4096

enum { A, B, C, NR };

struct ctl {
	int step;
	int done[NR];
	uint64_t key[NR];
	uint64_t slot[NR];
	uint64_t buf[NR];	/* two pages */
	uint64_t ro;		/* A's read-only page */
};

static int rpal_fd;
static struct ctl *ctl;

static volatile uint64_t *at(uint64_t addr)
{
	return (volatile uint64_t *)(uintptr_t)addr;
}

static void expect_fault(volatile uint64_t *p, int write)
{
	uint64_t v;
	int sig = write ? try_write(p, 1) : try_read(p, &v);

	if (sig != SIGSEGV || fault_addr != (void *)p)
		FAIL("%s %p: signal %d at %p, want SIGSEGV there",
		     write ? "write" : "read", (void *)p, sig, fault_addr);
}

/* Import service @id, which is @who: the ioctl returns who's slot. */
static void import(uint32_t id, int who)
{
	long slot = ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id);

	if (slot != (long)ctl->slot[who])
		FAIL("import of %c: %ld (%s), want slot %llu", 'A' + who, slot,
		     strerror(errno), (unsigned long long)ctl->slot[who]);
}

static void setup(int me)
{
	char *buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(buf != MAP_FAILED);
	*(uint64_t *)buf = me == A ? 0xa1 : 0xb1;
	ctl->buf[me] = (uintptr_t)buf;
	ctl->slot[me] = ioctl(rpal_fd, RPAL_IOC_GET_SLOT);
	__atomic_store_n(&ctl->key[me], rpal_enable_key(rpal_fd),
			 __ATOMIC_RELEASE);
}

static void owner(void)
{
	volatile uint64_t *buf;
	uint32_t id_b;
	uint64_t v;
	char *ro;

	setup(A);
	catch_faults();
	ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(ro != MAP_FAILED);
	*ro = 1;
	CHECK_OK(mprotect(ro, PAGE, PROT_READ));
	ctl->ro = (uintptr_t)ro;
	buf = at(ctl->buf[A]);

	step_wait(&ctl->step, 2);
	id_b = rpal_request_key(rpal_fd, &ctl->key[B]);
	step_set(&ctl->step, 3);

	step_wait(&ctl->step, 4);
	CHECK_OK(ioctl(rpal_fd, RPAL_IOC_SHARE_SLOT, (unsigned long)id_b));
	CHECK_OK(prctl(PR_SET_DUMPABLE, 0));
	step_set(&ctl->step, 5);

	step_wait(&ctl->step, 6);
	CHECK_OK(prctl(PR_SET_DUMPABLE, 1));
	step_set(&ctl->step, 7);

	step_wait(&ctl->step, 8);
	if (buf[1] != 0xb2)
		FAIL("A does not see B's write: %#llx",
		     (unsigned long long)buf[1]);
	buf[0] = 0xa2;
	step_set(&ctl->step, 9);

	step_wait(&ctl->step, 10);
	import(id_b, B);
	if (*at(ctl->buf[B]) != 0xb1)
		FAIL("A reads B's buffer: %#llx",
		     (unsigned long long)*at(ctl->buf[B]));
	step_set(&ctl->step, 11);

	/* B has exited: its slot is gone from A, A's own memory is not. */
	step_wait(&ctl->step, 12);
	expect_fault(at(ctl->buf[B]), 0);
	CHECK(try_read(buf, &v) == 0 && v == 0xa2);
	CHECK_OK(munmap((void *)buf, 2 * PAGE));
	buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED);
	buf[0] = 3;
	CHECK(buf[0] == 3);
}

static void importer(void)
{
	volatile uint64_t *buf;
	uint32_t id_a, id_c;
	int pfd[2], st;
	struct iovec iov;
	uint64_t v;
	pid_t pid;

	setup(B);
	step_wait(&ctl->step, 1);
	id_a = rpal_request_key(rpal_fd, &ctl->key[A]);
	id_c = rpal_request_key(rpal_fd, &ctl->key[C]);
	/* A has not requested B, nor shared: nothing to import yet. */
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id_a),
		  EPERM);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_SHARE_SLOT, (unsigned long)id_a),
		  EPERM);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, 200UL), ENOENT);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, 1000UL), ENOENT);
	step_set(&ctl->step, 2);

	/* Both requested, but A did not share. */
	step_wait(&ctl->step, 3);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id_a),
		  EPERM);
	/* C requested B and B requested C, but C has no slot. */
	step_wait(&ctl->done[C], 1);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id_c),
		  ENXIO);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_SHARE_SLOT, (unsigned long)id_c),
		  ENXIO);
	step_set(&ctl->step, 4);

	/* A shared, but is not dumpable: B may not ptrace it now. */
	step_wait(&ctl->step, 5);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id_a),
		  EPERM);
	step_set(&ctl->step, 6);

	step_wait(&ctl->step, 7);
	import(id_a, A);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id_a),
		  EEXIST);
	catch_faults();
	buf = at(ctl->buf[A]);
	if (try_read(buf, &v) || v != 0xa1)
		FAIL("B reads A's buffer: signal %d, %#llx", fault_sig,
		     (unsigned long long)v);
	CHECK(try_write(&buf[1], 0xb2) == 0);
	/* Where A has no mapping, or may not write, neither may B. */
	expect_fault(at((ctl->slot[A] << RPAL_SLOT_SHIFT) + PAGE), 0);
	expect_fault(at(ctl->ro), 1);
	CHECK(try_read(at(ctl->ro), &v) == 0 && v == 1);
	/* uaccess walks the page tables as user code does; GUP needs VMAs. */
	CHECK_OK(pipe(pfd));
	CHECK(write(pfd[1], (void *)buf, 8) == 8);
	CHECK(read(pfd[0], &v, 8) == 8 && v == 0xa1);
	iov.iov_base = (void *)buf;
	iov.iov_len = 8;
	CHECK_ERR(vmsplice(pfd[1], &iov, 1, 0), EFAULT);
	step_set(&ctl->step, 8);

	step_wait(&ctl->step, 9);
	CHECK(try_read(buf, &v) == 0 && v == 0xa2);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		expect_fault(buf, 0);
		CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT,
				(unsigned long)id_a), ENOTCONN);
		CHECK(ioctl(rpal_fd, RPAL_IOC_GET_SLOT) == 0);
		_exit(T_PASS);
	}
	st = reap(pid);
	if (st)
		FAIL("fork child of the importer: status %d", st);
	/* The child's exit took nothing from its parent. */
	CHECK(try_read(buf, &v) == 0 && v == 0xa2);
	CHECK_OK(ioctl(rpal_fd, RPAL_IOC_SHARE_SLOT, (unsigned long)id_a));
	step_set(&ctl->step, 10);

	/* A imported B; B exits now, as owner and as importer. */
	step_wait(&ctl->step, 11);
}

/* No slot: it cannot import, and nobody can import it. */
static void slotless(void)
{
	uint32_t id_b;

	__atomic_store_n(&ctl->key[C], rpal_enable_key(rpal_fd),
			 __ATOMIC_RELEASE);
	id_b = rpal_request_key(rpal_fd, &ctl->key[B]);
	step_set(&ctl->done[C], 1);
	step_wait(&ctl->step, 4);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id_b),
		  EINVAL);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_SHARE_SLOT, (unsigned long)id_b),
		  EINVAL);
}

int main(int argc, char **argv)
{
	pid_t pid[NR];
	int fd, st, i;

	rpal_fd = rpal_open();
	share_start(rpal_fd, argc, argv, (void **)&ctl, sizeof(*ctl), owner,
		    importer);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, 1UL), ENOTCONN);

	ctl = ctl_create(sizeof(*ctl), &fd);
	pid[A] = spawn_in_slot(rpal_fd, SELF, "owner", fd, UID);
	pid[B] = spawn_in_slot(rpal_fd, SELF, "importer", fd, UID);
	pid[C] = fork();
	CHECK(pid[C] >= 0);
	if (!pid[C]) {
		if (setresgid(UID, UID, UID) || setresuid(UID, UID, UID) ||
		    prctl(PR_SET_DUMPABLE, 1))
			_exit(T_FAIL);
		slotless();
		_exit(T_PASS);
	}
	step_set(&ctl->step, 1);
	st = reap(pid[B]);
	if (st)
		FAIL("importer B: status %d", st);
	step_set(&ctl->step, 12);
	for (i = 0; i < NR; i++) {
		if (i == B)
			continue;
		st = reap(pid[i]);
		if (st)
			FAIL("%c: status %d", 'A' + i, st);
	}
	return T_PASS;
}
