// SPDX-License-Identifier: MIT
/*
 * Pinned call contexts count against RLIMIT_MEMLOCK for a user without
 * CAP_IPC_LOCK: with room for one page, one thread registers and a second
 * gets ENOMEM until the first unregisters; with none, nobody registers.
 */
// ktest: timeout=60
#include <pthread.h>
#include <grp.h>
#include <sys/resource.h>
#include "rpal_test.h"

static int fd;
static struct ctx *ctx[2];

static void *second(void *arg)
{
	struct rpal_register r = { .ctx = (uintptr_t)ctx[1] };

	(void)arg;
	CHECK_ERR(ioctl(fd, RPAL_IOC_REGISTER_SENDER, &r), ENOMEM);
	return NULL;
}

static void as_user(uid_t uid, rlim_t bytes)
{
	struct rlimit rl = { bytes, bytes };

	CHECK_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	CHECK_OK(setgroups(0, NULL));
	CHECK_OK(setresgid(uid, uid, uid));
	CHECK_OK(setresuid(uid, uid, uid));
}

int main(void)
{
	struct rpal_service_info info;
	struct rpal_register r = {};
	pthread_t t;
	pid_t pid;

	fd = rpal_open();
	for (int i = 0; i < 2; i++) {
		/* Own small pages, so that no huge page is charged. */
		ctx[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(ctx[i] != MAP_FAILED);
		ctx[i]->word = 1;
	}

	pid = fork();
	if (pid == 0) {
		as_user(1000, 4096);
		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		r.ctx = (uintptr_t)ctx[0];
		CHECK_OK(ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &r));
		pthread_create(&t, NULL, second, NULL);
		pthread_join(t, NULL);
		/* Unregistering gives the page back at once. */
		CHECK_OK(ioctl(fd, RPAL_IOC_UNREGISTER));
		r.ctx = (uintptr_t)ctx[1];
		CHECK_OK(ioctl(fd, RPAL_IOC_REGISTER_SENDER, &r));
		exit(T_PASS);
	}
	CHECK(reap(pid) == T_PASS);

	pid = fork();
	if (pid == 0) {
		as_user(1001, 0);
		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		r.ctx = (uintptr_t)ctx[0];
		CHECK_ERR(ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &r), ENOMEM);
		exit(T_PASS);
	}
	CHECK(reap(pid) == T_PASS);
	return T_PASS;
}
