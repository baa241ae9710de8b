// SPDX-License-Identifier: MIT
/* Every /dev/rpal ioctl: success and error paths within one process. */
#include "rpal_test.h"

/* A copy of @arg that the kernel can read but not write back to. */
static void *read_only(const void *arg, size_t len)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	memcpy(p, arg, len);
	CHECK_OK(mprotect(p, 4096, PROT_READ));
	return p;
}

int main(void)
{
	int fd = rpal_open();
	struct rpal_service_info info, info2;
	struct rpal_request req = {};
	struct rpal_register reg = {};
	struct rpal_wait w = {};
	static struct ctx ctx[2];
	void *unmapped, *ro;
	uint64_t t0;

	/* Nothing works before the process is a service. */
	CHECK_ERR(ioctl(fd, RPAL_IOC_REQUEST, &req), ENOTCONN);
	reg.ctx = (uintptr_t)&ctx[0];
	CHECK_ERR(ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &reg), ENOTCONN);
	CHECK_ERR(ioctl(fd, RPAL_IOC_RELEASE, 1), ENOTCONN);
	CHECK_ERR(ioctl(fd, 0xB8ff), ENOTTY);

	CHECK_ERR(ioctl(fd, RPAL_IOC_ENABLE, NULL), EFAULT);
	/* The failed copy-out above enabled nothing. */
	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info2));
	CHECK_ERR(ioctl(fd, RPAL_IOC_ENABLE, &info2), EEXIST);

	/* A new process (exec-free child) gets its own service. */
	pid_t pid = fork();
	if (pid == 0) {
		CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
		CHECK(info.id >= 1 && info.id <= 255);
		CHECK(info.key != 0);

		/* Keys: wrong one, own one, twice. */
		req.key = info.key ^ 1;
		CHECK_ERR(ioctl(fd, RPAL_IOC_REQUEST, &req), EACCES);
		req.key = info.key;
		req.reserved = 1;
		CHECK_ERR(ioctl(fd, RPAL_IOC_REQUEST, &req), EINVAL);
		req.reserved = 0;
		CHECK_ERR(ioctl(fd, RPAL_IOC_REQUEST, (void *)16), EFAULT);
		/* A failed write-back requests nothing. */
		ro = read_only(&req, sizeof(req));
		CHECK_ERR(ioctl(fd, RPAL_IOC_REQUEST, ro), EFAULT);
		CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
		CHECK(req.id == info.id);
		CHECK_ERR(ioctl(fd, RPAL_IOC_REQUEST, &req), EEXIST);
		CHECK_OK(ioctl(fd, RPAL_IOC_RELEASE, info.id));
		CHECK_ERR(ioctl(fd, RPAL_IOC_RELEASE, info.id), ENOENT);
		CHECK_ERR(ioctl(fd, RPAL_IOC_RELEASE, 1000), ENOENT);

		/* Registration arguments. */
		CHECK_ERR(ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, (void *)8), EFAULT);
		reg.ctx = (uintptr_t)&ctx[0] + 4;
		CHECK_ERR(ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &reg), EINVAL);
		unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(unmapped != MAP_FAILED);
		munmap(unmapped, 4096);
		reg.ctx = (uintptr_t)unmapped;
		CHECK_ERR(ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &reg), EFAULT);
		reg.ctx = (uintptr_t)&ctx[0];
		reg.reserved = 1;
		CHECK_ERR(ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &reg), EINVAL);
		reg.reserved = 0;
		/* A failed write-back of the id registers nothing. */
		ro = read_only(&reg, sizeof(reg));
		CHECK_ERR(ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, ro), EFAULT);

		/* Not registered yet. */
		CHECK_ERR(rpal_wait(fd, 0, &w), ENOTCONN);
		CHECK_ERR(rpal_call(fd, info.id, 0, 0), ENOTCONN);
		CHECK_ERR(ioctl(fd, RPAL_IOC_UNREGISTER), ENOTCONN);

		/* Receiver: double registration, wait timeout, bad pointer. */
		ctx[0].word = 0x55;
		CHECK_OK(ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &reg));
		CHECK(reg.id >= 1);
		CHECK(ctx[0].word == RPAL_RECEIVER_RUNNING);
		CHECK_ERR(ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &reg), EBUSY);
		CHECK_ERR(ioctl(fd, RPAL_IOC_REGISTER_SENDER, &reg), EBUSY);
		CHECK_ERR(rpal_call(fd, info.id, 0, 0), ENOTCONN);
		t0 = now_ns();
		CHECK_ERR(rpal_wait(fd, 20 * 1000000, &w), ETIMEDOUT);
		CHECK(now_ns() - t0 >= 20 * 1000000);
		CHECK(st(ctx[0].word) == RPAL_RECEIVER_RUNNING);
		CHECK_ERR(rpal_wait(fd, 0, &w), ETIMEDOUT);
		CHECK_ERR(ioctl(fd, RPAL_IOC_WAIT, (void *)8), EFAULT);
		/* Reply-and-wait with no caller just waits. */
		CHECK_ERR(rpal_reply_wait(fd, 0, &w), ETIMEDOUT);
		/* The kernel does not read the word: a forged one changes
		 * nothing, and the wait rewrites it. */
		ctx[0].word = RPAL_RECEIVER_CALL;
		CHECK_ERR(rpal_wait(fd, 0, &w), ETIMEDOUT);
		CHECK(ctx[0].word == RPAL_RECEIVER_RUNNING);
		CHECK_OK(ioctl(fd, RPAL_IOC_UNREGISTER));
		CHECK_ERR(ioctl(fd, RPAL_IOC_UNREGISTER), ENOTCONN);

		/* Sender: call paths that fail before any switch. */
		reg.ctx = (uintptr_t)&ctx[1];
		CHECK_OK(ioctl(fd, RPAL_IOC_REGISTER_SENDER, &reg));
		CHECK_ERR(ioctl(fd, RPAL_IOC_CALL, (void *)8), EFAULT);
		CHECK_ERR(rpal_call(fd, info.id, 0, 0), EPERM);
		CHECK_ERR(rpal_call(fd, 999, 0, 0), EPERM);
		req.key = info.key;
		CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
		CHECK_ERR(rpal_call(fd, info.id, 0, 0), EAGAIN);
		CHECK_ERR(rpal_call(fd, info.id, 4242, 0), ESRCH);
		CHECK_ERR(rpal_wait(fd, 0, &w), ENOTCONN);
		CHECK(ctx[1].word == RPAL_SENDER_RUNNING);
		_exit(0);
	}
	return reap(pid);
}
