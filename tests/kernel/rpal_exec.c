// SPDX-License-Identifier: MIT
/*
 * Exit and exec release everything: after a service process execs, its
 * key is dead (EACCES) and calls fail (ECONNREFUSED); the new image can
 * enable a fresh service. Same after exit. A registered thread that execs
 * leaves no registration behind.
 */
#include "rpal_test.h"

struct shm {
	struct ctx rctx, sctx;
	volatile uint64_t key;
	volatile uint32_t id, stage;
};

int main(int argc, char **argv)
{
	struct rpal_service_info info;
	struct rpal_request req = {};
	struct shm *m;
	int fd = rpal_open();
	pid_t pid;

	if (argc == 3 && !strcmp(argv[1], "--after-exec")) {
		/* New image: no service, no registration. */
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			 atoi(argv[2]), 0);
		CHECK(m != MAP_FAILED);
		CHECK_ERR(ioctl(fd, RPAL_IOC_UNREGISTER), ENOTCONN);
		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		CHECK(info.key != m->key);
		rpal_register(fd, &m->rctx, 1);
		m->stage = 2;
		while (m->stage != 3)
			usleep(1000);
		_exit(0);
	}

	int mfd = memfd_create("rpal_exec", 0);

	CHECK(mfd >= 0 && ftruncate(mfd, 4096) == 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(m != MAP_FAILED);
	pid = fork();
	if (pid == 0) {
		char arg[32];

		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		rpal_register(fd, &m->rctx, 1);
		m->id = info.id;
		m->key = info.key;
		m->stage = 1;
		while (m->stage != 10)
			usleep(1000);
		snprintf(arg, sizeof(arg), "%d", mfd);
		execl("/proc/self/exe", argv[0], "--after-exec", arg, NULL);
		FAIL("exec: %s", strerror(errno));
	}
	while (m->stage != 1)
		usleep(1000);
	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	rpal_register(fd, &m->sctx, 0);
	req.key = m->key;
	CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
	CHECK_ERR(rpal_call(fd, m->id, 0, 0), EAGAIN);
	m->stage = 10;
	while (m->stage != 2)
		usleep(1000);
	/* Exec dropped the old service although the process lives on. */
	CHECK_ERR(rpal_call(fd, m->id, 0, 0), ECONNREFUSED);
	CHECK_ERR(ioctl(fd, RPAL_IOC_REQUEST, &req), EACCES);
	CHECK_OK(ioctl(fd, RPAL_IOC_RELEASE, m->id));
	m->stage = 3;
	CHECK(reap(pid) == 0);

	/* Exit: a plain child service vanishes with its process. */
	pid = fork();
	if (pid == 0) {
		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		m->key = info.key;
		m->id = info.id;
		m->stage = 4;
		pause();
	}
	while (m->stage != 4)
		usleep(1000);
	req.key = m->key;
	CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
	kill(pid, SIGKILL);
	CHECK(reap(pid) == 128 + SIGKILL);
	CHECK_ERR(rpal_call(fd, m->id, 0, 0), ECONNREFUSED);
	CHECK_ERR(ioctl(fd, RPAL_IOC_REQUEST, &req), EACCES);
	return 0;
}
