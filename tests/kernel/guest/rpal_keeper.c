// SPDX-License-Identifier: MIT
/*
 * Holds one RPAL receiver for the rest of the guest run, so that the
 * wakeup veto's static key (patch 4), on while any receiver exists, stays
 * on while the tests run. guest-init starts it after the tests marked
 * "early" (rpal_key, which turns the key on and off on purpose) and says
 * why.
 *
 * It forks a child that becomes a user of its own (KEEPER_UID, so that it
 * takes none of root's service ids or locked memory and, not dumpable,
 * cannot be requested by anyone), enables a service, registers a receiver
 * and waits in RPAL_IOC_WAIT forever. The parent exits once the receiver
 * is registered: 0, 77 without /dev/rpal, 1 if the child failed.
 */
#include <grp.h>
#include "rpal_test.h"

#define KEEPER_UID 65533

static struct ctx ctx;

int main(void)
{
	struct rpal_service_info info;
	int fd = rpal_open();
	struct rpal_wait w;
	int p[2], null;
	char c = 0;
	pid_t pid;

	CHECK_OK(pipe(p));
	pid = fork();
	CHECK(pid >= 0);
	if (pid) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1 || c != 'k')
			FAIL("the keeper child did not register (status %d)",
			     reap(pid));
		return T_PASS;
	}
	close(p[0]);
	/* Out of the tests' way: no terminal, session or root's ids. */
	CHECK_OK(setsid());
	CHECK_OK(setgroups(0, NULL));
	CHECK_OK(setresgid(KEEPER_UID, KEEPER_UID, KEEPER_UID));
	CHECK_OK(setresuid(KEEPER_UID, KEEPER_UID, KEEPER_UID));
	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	rpal_register(fd, &ctx, 1);
	null = open("/dev/null", O_RDWR);
	CHECK(null >= 0);
	if (write(p[1], "k", 1) != 1)
		exit(T_FAIL);
	close(p[1]);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	/* Nobody can request this service: a call never comes. */
	for (;;)
		rpal_wait(fd, -1, &w);
}
