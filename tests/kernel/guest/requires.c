// SPDX-License-Identifier: MIT
/*
 * Run a kernel selftest only if the guest has what it needs, else exit 77
 * (SKIP) naming what is missing. Without it some selftests pass without
 * testing anything (protection_keys on a CPU without PKU runs only its
 * "unsupported" cases and exits 0), others fail for want of a config
 * option, not because of RPAL (tests/kernel/run says which needs what).
 *
 * Usage: requires NEED... -- PROGRAM [ARGS...]
 *   pku         pkey_alloc() works: the CPU has PKU and the kernel uses it
 *   modify_ldt  the modify_ldt() system call (CONFIG_MODIFY_LDT_SYSCALL)
 *   smaps       /proc/self/smaps (CONFIG_PROC_PAGE_MONITOR)
 * and two that are not needs:
 *   nobody      run PROGRAM as uid and gid 65534, without groups
 *   reap        wait for all of PROGRAM's descendants, orphans included, and
 *               fail if any fails: protection_keys's first process exits 0
 *               in its first test_pkey_alloc_exhaust() and a child carries
 *               on, so the exit status of PROGRAM alone says nothing
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run argv as a child; the first failure of it or of any orphan it leaves. */
static int reap_all(char **argv)
{
	int status, rc, worst = 0;
	pid_t pid, child;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("requires: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("requires: fork");
		return 1;
	}
	if (!child) {
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(126);
	}
	while ((pid = wait(&status)) > 0) {
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (!rc || worst)
			continue;
		/* An orphan's 77 is no SKIP: it ran. */
		worst = pid == child ? rc : 1;
		if (pid != child)
			printf("requires: a descendant of %s (pid %d) failed: %d\n",
			       argv[0], (int)pid, rc);
	}
	fflush(stdout);
	return worst;
}

static int skip(const char *why)
{
	printf("%s\n", why);
	return 77;
}

int main(int argc, char **argv)
{
	char ldt[16];
	int i, key, nobody = 0, reap = 0;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "pku")) {
			key = pkey_alloc(0, 0);
			if (key < 0)
				return skip("no protection keys (pkey_alloc fails)");
			pkey_free(key);
		} else if (!strcmp(argv[i], "modify_ldt")) {
			/* Function 0 reads the LDT: it creates none. */
			if (syscall(SYS_modify_ldt, 0, ldt, sizeof(ldt)) < 0 &&
			    errno == ENOSYS)
				return skip("no modify_ldt() (CONFIG_MODIFY_LDT_SYSCALL=n)");
		} else if (!strcmp(argv[i], "smaps")) {
			if (access("/proc/self/smaps", R_OK))
				return skip("no /proc/self/smaps (CONFIG_PROC_PAGE_MONITOR=n)");
		} else if (!strcmp(argv[i], "nobody")) {
			nobody = 1;
		} else if (!strcmp(argv[i], "reap")) {
			reap = 1;
		} else {
			fprintf(stderr, "requires: unknown need '%s'\n", argv[i]);
			return 2;
		}
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "usage: requires NEED... -- PROGRAM [ARGS...]\n");
		return 2;
	}
	if (nobody && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		       setresuid(65534, 65534, 65534))) {
		perror("requires: nobody");
		return 1;
	}
	if (reap)
		return reap_all(argv + i + 1);
	execv(argv[i + 1], argv + i + 1);
	perror(argv[i + 1]);
	return 126;
}
