// SPDX-License-Identifier: MIT
/*
 * The client side of lrpc:// channels: connect and map the region, lend
 * lanes to calling threads, make calls, and notice the server's death.
 *
 * The server is a peer too: what it writes into the region is read once and
 * checked (the generic call path copies a reply out before parsing it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "handoff.h"
#include "channel_internal.h"

struct chan_lane {
	struct lrpc__slot slot; /* first: the generic code sees only this */
	struct lrpc__lane *lane;
	uint32_t call_word;
	uint64_t seq;
	bool abandoned; /* its call timed out; busy until the receiver returns it */
	struct chan_lane *next;
};

struct shm_chan {
	int ctl_fd;
	int wake_fd[2]; /* tells the monitor to quit */
	void *base;
	struct lrpc__geom geom;
	uint32_t service_id;
	char handoff[LRPC__HANDOFF_NAME_MAX];

	struct chan_lane *lanes;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct chan_lane *free_list;
	unsigned int abandoned;

	_Atomic int dead;
	pthread_t monitor;
	bool monitor_started;
};

/* Wait until the control socket closes, then fail every call in flight. */
static void *monitor_main(void *arg)
{
	struct shm_chan *ch = arg;
	struct pollfd p[2] = {
		{ .fd = ch->ctl_fd, .events = POLLIN | POLLRDHUP },
		{ .fd = ch->wake_fd[0], .events = POLLIN },
	};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			return NULL;
		if (p[0].revents)
			break;
	}
	atomic_store(&ch->dead, 1);
	for (uint32_t i = 0; i < ch->geom.nlanes; i++)
		lrpc__futex_kick_sender(ch->lanes[i].lane);
	pthread_mutex_lock(&ch->lock);
	pthread_cond_broadcast(&ch->freed);
	pthread_mutex_unlock(&ch->lock);
	return NULL;
}

static int ctl_connect(struct shm_chan *ch, const char *path, int64_t ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	ch->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ch->ctl_fd < 0)
		return -errno;
	if (setsockopt(ch->ctl_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(ch->ctl_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	if (connect(ch->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	/* Whoever listens under our name must be us or root: a region from a
	 * stranger would be a stranger's memory in our address space. */
	if (getsockopt(ch->ctl_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (cred.uid != geteuid() && cred.uid != 0)
		return -EACCES;
	return 0;
}

/* \return the region's memfd (owned by the caller), or -errno. */
static int handshake(struct shm_chan *ch, const char *want)
{
	struct lrpc__hello h = {
		.magic = LRPC__HELLO_MAGIC,
		.version = LRPC__CTL_VERSION,
	};
	struct lrpc__welcome w;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct iovec iov = { .iov_base = &w, .iov_len = sizeof(w) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cm.buf,
		.msg_controllen = sizeof(cm.buf),
	};
	struct cmsghdr *c;
	int fd = -1, ret;
	ssize_t n;

	if (want)
		strncpy(h.handoff, want, sizeof(h.handoff) - 1);
	if (send(ch->ctl_fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h))
		return errno == EAGAIN ? -ETIMEDOUT : -EPIPE;
	n = recvmsg(ch->ctl_fd, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (int i = 0; i < nfd; i++) {
				int f;

				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
				if (fd < 0)
					fd = f;
				else
					close(f);
			}
		}
	}
	ret = -EPROTO;
	if (n == 0)
		ret = -ECONNRESET;
	else if (n != sizeof(w) || w.magic != LRPC__WELCOME_MAGIC ||
		 w.version != LRPC__CTL_VERSION || (msg.msg_flags & MSG_CTRUNC))
		ret = -EPROTO;
	else if (w.status)
		ret = -(int)w.status;
	else if (fd >= 0)
		ret = 0;
	if (ret < 0) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	ch->geom = (struct lrpc__geom){
		.nlanes = w.nlanes,
		.buf_size = w.buf_size,
		.lane_stride = w.lane_stride,
		.region_size = w.region_size,
	};
	ch->service_id = w.service_id;
	memcpy(ch->handoff, w.handoff, sizeof(ch->handoff));
	ch->handoff[sizeof(ch->handoff) - 1] = '\0';
	return fd;
}

static int region_map(struct shm_chan *ch, int fd)
{
	struct stat st;

	if (lrpc__geom_check(&ch->geom) < 0 || ch->service_id == 0 ||
	    ch->service_id > LRPC__SERVICE_MASK ||
	    strcmp(ch->handoff, "futex") != 0)
		return -EPROTO;
	/* The mapping must not extend past the file, or touching it faults. */
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < ch->geom.region_size)
		return -EPROTO;
	ch->base = mmap(NULL, ch->geom.region_size, PROT_READ | PROT_WRITE,
			MAP_SHARED, fd, 0);
	if (ch->base == MAP_FAILED) {
		ch->base = NULL;
		return -errno;
	}
	ch->lanes = calloc(ch->geom.nlanes, sizeof(*ch->lanes));
	if (!ch->lanes)
		return -ENOMEM;
	for (uint32_t i = ch->geom.nlanes; i-- > 0;) {
		struct chan_lane *cl = &ch->lanes[i];

		cl->lane = lrpc__region_lane(ch->base, &ch->geom, i);
		cl->slot.buf = lrpc__lane_buf(cl->lane);
		cl->slot.cap = ch->geom.buf_size;
		cl->call_word = lrpc__call_word(ch->service_id, i + 1);
		cl->next = ch->free_list;
		ch->free_list = cl;
	}
	return 0;
}

static size_t shm_max_msg(const lrpc_channel *c)
{
	const struct shm_chan *ch = c->impl;

	return ch->geom.buf_size;
}

/* Called with the lock held: move lanes whose late reply has come back. */
static void reclaim_abandoned(struct shm_chan *ch)
{
	for (uint32_t i = 0; ch->abandoned && i < ch->geom.nlanes; i++) {
		struct chan_lane *cl = &ch->lanes[i];

		if (cl->abandoned &&
		    atomic_load_explicit(&cl->lane->tx.state,
					 memory_order_acquire) != LRPC__TX_CALL) {
			cl->abandoned = false;
			ch->abandoned--;
			cl->next = ch->free_list;
			ch->free_list = cl;
		}
	}
}

static struct chan_lane *first_abandoned(struct shm_chan *ch)
{
	for (uint32_t i = 0; i < ch->geom.nlanes; i++)
		if (ch->lanes[i].abandoned)
			return &ch->lanes[i];
	return NULL;
}

static lrpc_code shm_acquire(lrpc_channel *c, size_t len, lrpc_deadline deadline,
			     struct lrpc__slot **out, lrpc_status *st)
{
	struct shm_chan *ch = c->impl;
	struct timespec ts = {
		.tv_sec = deadline / 1000000000,
		.tv_nsec = deadline % 1000000000,
	};
	lrpc_code code = LRPC_OK;

	(void)len; /* every lane holds max_msg bytes */
	pthread_mutex_lock(&ch->lock);
	for (;;) {
		if (atomic_load(&ch->dead)) {
			code = lrpc__status_fail(st, LRPC_UNAVAILABLE,
						 "server has gone away");
			break;
		}
		reclaim_abandoned(ch);
		if (ch->free_list) {
			*out = &ch->free_list->slot;
			ch->free_list = ch->free_list->next;
			break;
		}
		if (lrpc_now() >= deadline) {
			code = lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
						 "deadline exceeded waiting for a free call context");
			break;
		}
		if (ch->abandoned) {
			/* Nobody signals when a late reply frees a lane, so
			 * wait for that lane itself. */
			struct chan_lane *cl = first_abandoned(ch);

			pthread_mutex_unlock(&ch->lock);
			lrpc__futex_wait_returned(cl->lane, deadline);
			pthread_mutex_lock(&ch->lock);
		} else {
			pthread_cond_timedwait(&ch->freed, &ch->lock, &ts);
		}
	}
	pthread_mutex_unlock(&ch->lock);
	return code;
}

static void shm_release(lrpc_channel *c, struct lrpc__slot *slot)
{
	struct shm_chan *ch = c->impl;
	struct chan_lane *cl = (struct chan_lane *)slot;

	pthread_mutex_lock(&ch->lock);
	if (cl->abandoned) {
		ch->abandoned++;
	} else {
		cl->next = ch->free_list;
		ch->free_list = cl;
	}
	pthread_cond_signal(&ch->freed);
	pthread_mutex_unlock(&ch->lock);
}

/*
 * Run one call on a lane whose buffer holds the request. A call that times
 * out leaves its lane abandoned: busy until the receiver hands it back, so
 * that the late reply can never be taken for a later call's.
 */
static lrpc_code shm_invoke(lrpc_channel *c, struct lrpc__slot *slot,
			    uint32_t method_id, size_t req_len,
			    lrpc_deadline deadline, const unsigned char **rep,
			    size_t *rep_len, lrpc_status *st)
{
	struct shm_chan *ch = c->impl;
	struct chan_lane *cl = (struct chan_lane *)slot;
	struct lrpc__lane *lane = cl->lane;
	struct lrpc__reply_meta *r = &lane->reply;
	uint64_t seq;
	uint32_t code, len;
	int ret;

	if (lrpc_now() >= deadline)
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
					 "deadline passed before the call was sent");
	cl->seq++;
	lane->call.seq = cl->seq;
	lane->call.deadline = deadline;
	lane->call.method_id = method_id;
	lane->call.req_len = (uint32_t)req_len;
	ret = lrpc__futex_call(lane, cl->call_word, deadline, &ch->dead);
	if (ret == -ETIMEDOUT) {
		cl->abandoned = true;
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
					 "deadline exceeded waiting for the reply");
	}
	if (ret == -ECONNRESET || atomic_load(&ch->dead))
		return lrpc__status_fail(st, LRPC_UNAVAILABLE,
					 "server has gone away");
	if (ret < 0)
		return lrpc__status_fail(st, LRPC_UNAVAILABLE,
					 "server's receiver is not taking calls");

	seq = LRPC__READ_ONCE(r->seq);
	code = LRPC__READ_ONCE(r->code);
	len = LRPC__READ_ONCE(r->rep_len);
	if (seq != cl->seq)
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "reply out of sequence (%llu, wanted %llu)",
					 (unsigned long long)seq,
					 (unsigned long long)cl->seq);
	if (code >= LRPC_CODE_COUNT)
		return lrpc__status_fail(st, LRPC_UNKNOWN,
					 "server sent status %u", code);
	if (code != LRPC_OK) {
		if (st) {
			st->code = (lrpc_code)code;
			memcpy(st->message, r->message, sizeof(st->message));
			st->message[sizeof(st->message) - 1] = '\0';
		}
		return (lrpc_code)code;
	}
	if (len > ch->geom.buf_size)
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "server sent a reply length of %u", len);
	*rep = lrpc__lane_buf(lane);
	*rep_len = len;
	return LRPC_OK;
}

static void shm_close(lrpc_channel *c)
{
	struct shm_chan *ch = c->impl;

	if (!ch)
		return;
	if (ch->monitor_started) {
		char b = 0;

		if (write(ch->wake_fd[1], &b, 1) != 1)
			pthread_cancel(ch->monitor);
		pthread_join(ch->monitor, NULL);
	}
	if (ch->base)
		munmap(ch->base, ch->geom.region_size);
	for (int i = 0; i < 2; i++)
		if (ch->wake_fd[i] >= 0)
			close(ch->wake_fd[i]);
	if (ch->ctl_fd >= 0)
		close(ch->ctl_fd);
	pthread_mutex_destroy(&ch->lock);
	pthread_cond_destroy(&ch->freed);
	free(ch->lanes);
	free(ch);
	c->impl = NULL;
}

static const struct lrpc__chan_ops shm_ops = {
	.handoff = "futex",
	.reply_shared = true,
	.max_msg = shm_max_msg,
	.acquire = shm_acquire,
	.invoke = shm_invoke,
	.release = shm_release,
	.close = shm_close,
};

int lrpc__shm_open(lrpc_channel *c, const char *path)
{
	const char *want = c->opts.handoff;
	pthread_condattr_t ca;
	struct shm_chan *ch;
	int fd, ret;

	if (!want)
		want = getenv("LAZYRPC_HANDOFF");
	if (want && *want && strcmp(want, "futex") != 0)
		return -EPROTONOSUPPORT;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->ctl_fd = ch->wake_fd[0] = ch->wake_fd[1] = -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ch->freed, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&ch->lock, NULL);
	c->impl = ch;
	c->ops = &shm_ops;
	ret = ctl_connect(ch, path, c->opts.connect_timeout_ms);
	if (ret < 0)
		return ret;
	fd = handshake(ch, want);
	if (fd < 0)
		return fd;
	ret = region_map(ch, fd);
	close(fd);
	if (ret < 0)
		return ret;
	if (pipe2(ch->wake_fd, O_CLOEXEC) < 0)
		return -errno;
	ret = lrpc__thread_start(&ch->monitor, monitor_main, ch, false);
	if (ret < 0)
		return ret;
	ch->monitor_started = true;
	return 0;
}
