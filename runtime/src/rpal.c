// SPDX-License-Identifier: MIT
/*
 * The rpal-kernel hand-off (RPAL stage K1, /dev/rpal): a call is one ioctl
 * that switches to the named receiver on the caller's CPU and sleeps until
 * the receiver's reply-and-wait switches back.
 *
 * Probe once, cache, fall back: the first use opens /dev/rpal and checks the
 * API version; without it (or with LAZYRPC_HANDOFF=futex) every channel
 * uses the futex hand-off. The process enables itself as an RPAL service
 * the first time it needs to (a server to be called, a client to request
 * the server), and each calling thread registers its sender context the
 * first time it calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/rpal.h>

#include "rpal.h"

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int rpal_fd = -1;

static pthread_mutex_t enable_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rpal_service_info self;
static int enabled; /* 0 not yet, 1 yes, -errno failed */

static void probe(void)
{
	const char *env = getenv("LAZYRPC_HANDOFF");
	int fd;

	if (env && *env && strcmp(env, "rpal-kernel") != 0)
		return;
	fd = open("/dev/rpal", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ioctl(fd, RPAL_IOC_GET_API_VERSION) != RPAL_API_VERSION) {
		close(fd);
		return;
	}
	rpal_fd = fd;
}

bool lrpc__rpal_available(void)
{
	pthread_once(&probe_once, probe);
	return rpal_fd >= 0;
}

int lrpc__rpal_self(uint32_t *id, uint64_t *key)
{
	int ret;

	if (!lrpc__rpal_available())
		return -ENODEV;
	pthread_mutex_lock(&enable_lock);
	if (!enabled)
		enabled = ioctl(rpal_fd, RPAL_IOC_ENABLE, &self) < 0 ? -errno : 1;
	ret = enabled < 0 ? enabled : 0;
	pthread_mutex_unlock(&enable_lock);
	if (ret == 0) {
		*id = self.id;
		if (key)
			*key = self.key;
	}
	return ret;
}

/* Channels to one server share the kernel's grant: released with the last. */
static pthread_mutex_t peers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t key;
	unsigned int refs;
} peers[256];

int lrpc__rpal_request(uint64_t key, uint32_t *peer_id)
{
	struct rpal_request req = { .key = key };
	int ret = 0;

	if (!lrpc__rpal_available())
		return -ENODEV;
	pthread_mutex_lock(&peers_lock);
	for (unsigned int i = 0; i < 256; i++) {
		if (peers[i].refs && peers[i].key == key) {
			peers[i].refs++;
			*peer_id = i;
			goto out;
		}
	}
	if (ioctl(rpal_fd, RPAL_IOC_REQUEST, &req) < 0) {
		ret = -errno;
		goto out;
	}
	if (req.id > 255) {
		ioctl(rpal_fd, RPAL_IOC_RELEASE, (unsigned long)req.id);
		ret = -EPROTO;
		goto out;
	}
	peers[req.id].key = key;
	peers[req.id].refs = 1;
	*peer_id = req.id;
out:
	pthread_mutex_unlock(&peers_lock);
	return ret;
}

void lrpc__rpal_release(uint32_t peer_id)
{
	if (peer_id > 255)
		return;
	pthread_mutex_lock(&peers_lock);
	if (peers[peer_id].refs && !--peers[peer_id].refs)
		ioctl(rpal_fd, RPAL_IOC_RELEASE, (unsigned long)peer_id);
	pthread_mutex_unlock(&peers_lock);
}

/* A thread's sender context: the kernel pins the page it lives on. */
static __thread struct {
	alignas(64) _Atomic uint32_t word;
} sender_ctx;
static __thread int sender_state; /* 0 not yet, 1 registered, -errno */

static int sender_register(void)
{
	struct rpal_register reg = { .ctx = (uintptr_t)&sender_ctx };

	if (!sender_state)
		sender_state = ioctl(rpal_fd, RPAL_IOC_REGISTER_SENDER, &reg) < 0 ?
				       -errno : 1;
	return sender_state < 0 ? sender_state : 0;
}

int lrpc__rpal_call(uint32_t peer_id, uint32_t receiver_id,
		    lrpc_deadline deadline)
{
	struct rpal_call call = {
		.service_id = peer_id,
		.receiver_id = receiver_id,
	};
	int64_t left = deadline - lrpc_now();
	int ret;

	if (receiver_id == RPAL_ANY_RECEIVER)
		return -EPROTO; /* never let the kernel pick a stranger's lane */
	if (left <= 0)
		return -ETIMEDOUT;
	ret = sender_register();
	if (ret < 0)
		return ret == -EBUSY ? -EDEADLK : ret;
	call.timeout_ns = left;
	return ioctl(rpal_fd, RPAL_IOC_CALL, &call) < 0 ? -errno : 0;
}

int lrpc__rpal_receiver_register(struct lrpc__rx_ctx *ctx, uint32_t *id)
{
	struct rpal_register reg = { .ctx = (uintptr_t)ctx };

	if (ioctl(rpal_fd, RPAL_IOC_REGISTER_RECEIVER, &reg) < 0)
		return -errno;
	*id = reg.id;
	return 0;
}

void lrpc__rpal_unregister(void)
{
	ioctl(rpal_fd, RPAL_IOC_UNREGISTER);
}

int64_t lrpc__rpal_receive(bool reply, int64_t timeout_ns)
{
	struct rpal_wait w = { .timeout_ns = timeout_ns };

	if (ioctl(rpal_fd, reply ? RPAL_IOC_REPLY_WAIT : RPAL_IOC_WAIT, &w) < 0)
		return -errno;
	return (int64_t)(w.service_id << LRPC__SERVICE_SHIFT |
			 w.sender_id << LRPC__SENDER_SHIFT | LRPC__RX_CALL);
}
