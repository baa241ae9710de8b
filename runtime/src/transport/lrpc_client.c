// SPDX-License-Identifier: MIT
/*
 * The client side of lrpc:// channels: connect and map the region, lend
 * lanes to calling threads, make calls, and notice the server's death.
 *
 * The server is a peer too: what it writes into the region is read once and
 * checked, and the generic call path decodes the reply where it lies with
 * the decoder that reads every byte once.
 *
 * How a lane's call is made is the hand-off's (handoff.h), chosen in the
 * handshake.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/peer_acl.h"
#include "handoff/handoff.h"
#include "transport/lrpc_client.h"
#include "transport/sock.h"
#include "transport/transport.h"
#include "wire/handshake.h"
#include "client/metadata.h"
#include "wire/lane.h"
#include "wire/md_block.h"

static int ctl_connect(struct shm_chan *ch, const struct lrpc__addr *addr,
		       const lrpc_peer_acl *trust, lrpc_deadline deadline,
		       lrpc_status *open_status)
{
	struct ucred cred;
	int ret;

	ch->ctl_fd = lrpc__sock_connect(addr, deadline);
	if (ch->ctl_fd < 0)
		return ch->ctl_fd;
	/* The handshake is a blocking exchange, bounded by ctl_timeout(). */
	if (fcntl(ch->ctl_fd, F_SETFL, 0) < 0)
		return -errno;
	/* Whoever listens under our name must be us, root or someone we were
	 * told to trust: a region from a stranger would be a stranger's
	 * memory in our address space. */
	ret = lrpc__peer_acl_check(trust, ch->ctl_fd, true, &cred);
	if (ret == -EACCES)
		lrpc__status_set(open_status, LRPC_PERMISSION_DENIED,
				 "the server listening there runs as uid %u, "
				 "which this client does not trust "
				 "(lrpc_channel_opts.trust)", (unsigned int)cred.uid);
	return ret;
}

/* Bound the next blocking step on the control socket by what is left
 * until \p deadline. */
static int ctl_timeout(int fd, lrpc_deadline deadline)
{
	int64_t us = (deadline - lrpc_now() + 999) / 1000;
	struct timeval tv = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 };

	/* Rounded up: a zero timeval would mean no timeout at all. */
	if (us <= 0)
		return -ETIMEDOUT;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/* Keep the first descriptor a message carries in *fd; close the rest. */
static void take_fds(struct msghdr *msg, int *fd)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		int nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < nfd; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
			if (*fd < 0)
				*fd = f;
			else
				close(f);
		}
	}
}

/*
 * Read the welcome as its bytes come, until it is whole, the server hangs
 * up or \p deadline. A signal costs a retry, not the channel: socket calls
 * with a timeout fail with EINTR even under SA_RESTART. The descriptor
 * sent with it goes to *fd (the caller's to close, even on error).
 * \return the bytes read, or -errno.
 */
static ssize_t recv_welcome(int ctl, struct lrpc__welcome *w,
			    lrpc_deadline deadline, int *fd)
{
	size_t got = 0;

	while (got < sizeof(*w)) {
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} cm;
		struct iovec iov = { .iov_base = (char *)w + got,
				     .iov_len = sizeof(*w) - got };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cm.buf,
			.msg_controllen = sizeof(cm.buf),
		};
		int ret = ctl_timeout(ctl, deadline);
		ssize_t n;

		if (ret < 0)
			return ret;
		n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		take_fds(&msg, fd);
		if (msg.msg_flags & MSG_CTRUNC)
			return -EPROTO;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* A refusal: the server's reason follows the welcome; put it in \p st. */
static void refusal(int fd, int err, lrpc_status *st)
{
	char why[LRPC__REFUSAL_MAX];
	ssize_t n = recv(fd, why, sizeof(why) - 1, MSG_DONTWAIT);

	if (n <= 0 || !st)
		return;
	why[n] = '\0';
	lrpc__status_set(st, err == EACCES ? LRPC_PERMISSION_DENIED :
			     err == EAGAIN ? LRPC_RESOURCE_EXHAUSTED :
			     LRPC_UNAVAILABLE, "%s", why);
}

/* \return the region's memfd (owned by the caller), or -errno; the
 * welcome in \p wp, a refusal's reason in \p st. */
static int handshake(struct shm_chan *ch, const struct lrpc__hello *h,
		     const struct lrpc__handoff *want, lrpc_deadline deadline,
		     struct lrpc__welcome *wp, lrpc_status *st)
{
	struct lrpc__welcome w;
	int fd = -1, ret;
	ssize_t n;

	ret = ctl_timeout(ch->ctl_fd, deadline);
	if (ret < 0)
		return ret;
	do
		n = send(ch->ctl_fd, h, sizeof(*h), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*h))
		return errno == EAGAIN ? -ETIMEDOUT : -EPIPE;
	n = recv_welcome(ch->ctl_fd, &w, deadline, &fd);
	ret = -EPROTO;
	if (n < 0)
		ret = (int)n;
	else if (n == 0)
		ret = -ECONNRESET;
	else if (n != sizeof(w) || w.magic != LRPC__WELCOME_MAGIC ||
		 w.version != LRPC__CTL_VERSION)
		ret = -EPROTO;
	else if (w.status >= 4096)
		/* A refusal says why in an errno; anything past errno's range
		 * says nothing we could pass on. */
		ret = -EPROTO;
	else if (w.status) {
		ret = -(int)w.status;
		refusal(ch->ctl_fd, w.status, st);
	}
	else if (!(ch->hand.ops = lrpc__handoff_welcomed(&w, want)))
		ret = -EPROTO;
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
	/* A 0.1 server starts every receiver at once. */
	atomic_store(&ch->active, w.nlanes_active && w.nlanes_active < w.nlanes ?
					  w.nlanes_active : w.nlanes);
	*wp = w;
	return fd;
}

static int region_map(struct shm_chan *ch, int fd)
{
	struct stat st;
	int seals;

	if (lrpc__geom_check(&ch->geom) < 0 || ch->service_id == 0 ||
	    ch->service_id > LRPC__SERVICE_MASK)
		return -EPROTO;
	/* The mapping must not extend past the file, or touching it faults;
	 * so the file must be a memfd sealed against shrinking, or the
	 * server could cut it short under us later. */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EPROTO;
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
	for (uint32_t i = 0; i < ch->geom.nlanes; i++) {
		struct chan_lane *cl = &ch->lanes[i];

		cl->ch = ch;
		cl->lane = lrpc__region_lane(ch->base, &ch->geom, i);
		cl->rb.buf = lrpc__lane_buf(cl->lane);
		cl->rb.cap = ch->geom.buf_size;
		cl->call_word = lrpc__call_word(ch->service_id, i + 1);
	}
	return 0;
}

/* The lane this thread used last, to try first: it likely still has our
 * CPU hint, and threads that each keep their own lane never contend. */
static __thread uint32_t lane_hint;

/* Has the receiver of an abandoned lane handed it back? A stream's (its
 * open answered at once) only once it has written the stream's end. */
static bool lane_returned(const struct shm_chan *ch, const struct chan_lane *cl)
{
	return ch->hand.ops->returned(cl->lane, cl->seq) &&
	       (!cl->stream || lrpc__lane_stream_ended(cl));
}

/* Take a free lane, or an abandoned one whose receiver has let go. */
static bool try_take(const struct shm_chan *ch, struct chan_lane *cl)
{
	/* Acquire: what the holder wrote before abandoning (seq, stream). */
	int use = atomic_load_explicit(&cl->use, memory_order_acquire);

	if (use == LANE_ABANDONED && !lane_returned(ch, cl))
		return false;
	if (use == LANE_BUSY ||
	    !atomic_compare_exchange_strong_explicit(&cl->use, &use, LANE_BUSY,
						     memory_order_acquire,
						     memory_order_relaxed))
		return false;
	if (use == LANE_ABANDONED) {
		/* Handed back: nobody reads the cancel word until our call. */
		atomic_store_explicit(&cl->lane->call.cancel, 0,
				      memory_order_relaxed);
		cl->lane->call.flags = 0;
		cl->stream = false;
	}
	return true;
}

static struct chan_lane *take_any(struct shm_chan *ch)
{
	uint32_t n = atomic_load(&ch->active), start = lane_hint < n ? lane_hint : 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = (start + i) % n;

		if (try_take(ch, &ch->lanes[k])) {
			lane_hint = k;
			return &ch->lanes[k];
		}
	}
	return NULL;
}

static struct chan_lane *first_abandoned(struct shm_chan *ch)
{
	for (uint32_t i = 0; i < ch->geom.nlanes; i++)
		if (atomic_load(&ch->lanes[i].use) == LANE_ABANDONED)
			return &ch->lanes[i];
	return NULL;
}

struct chan_lane *lrpc__chan_try_acquire(struct shm_chan *ch)
{
	struct chan_lane *cl;

	if (atomic_load(&ch->dead))
		return NULL;
	cl = take_any(ch);
	if (cl)
		lrpc__chan_ref(ch);
	return cl;
}

void lrpc__chan_wake_waiters(struct shm_chan *ch)
{
	pthread_cond_broadcast(&ch->freed);
	if (ch->freed_hook)
		ch->freed_hook(ch->freed_arg);
}

lrpc_code lrpc__chan_acquire(struct shm_chan *ch, lrpc_deadline deadline,
			     struct lrpc__req_buf **out, lrpc_status *st)
{
	struct timespec ts = {
		.tv_sec = deadline / 1000000000,
		.tv_nsec = deadline % 1000000000,
	};
	struct chan_lane *cl;
	lrpc_code code = LRPC_OK;

	if (atomic_load(&ch->dead))
		return lrpc__status_fail(st, LRPC_UNAVAILABLE,
					 "server has gone away");
	cl = take_any(ch);
	if (cl) {
		lrpc__chan_ref(ch);
		*out = &cl->rb;
		return LRPC_OK;
	}
	pthread_mutex_lock(&ch->lock);
	atomic_fetch_add(&ch->waiters, 1);
	for (;;) {
		struct chan_lane *ab;

		/* Announced as a waiter before this look, so a release that
		 * comes after it signals us. */
		cl = take_any(ch);
		if (cl) {
			lrpc__chan_ref(ch);
			*out = &cl->rb;
			break;
		}
		if (atomic_load(&ch->dead)) {
			code = lrpc__status_fail(st, LRPC_UNAVAILABLE,
						 "server has gone away");
			break;
		}
		if (lrpc_now() >= deadline) {
			code = lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
						 "deadline exceeded waiting for a free lane");
			break;
		}
		ab = first_abandoned(ch);
		if (lrpc__shm_grow(ch)) {
			/* A new lane serves sooner than a given-up call ends. */
			pthread_cond_timedwait(&ch->freed, &ch->lock, &ts);
		} else if (ab) {
			/* Nobody signals when a late reply frees a lane, so
			 * wait for that lane itself. */
			pthread_mutex_unlock(&ch->lock);
			if (ab->stream)
				lrpc__lane_stream_wait_ended(ch, ab, deadline);
			else
				ch->hand.ops->wait_returned(ab->lane, ab->seq,
							    deadline);
			pthread_mutex_lock(&ch->lock);
		} else {
			pthread_cond_timedwait(&ch->freed, &ch->lock, &ts);
		}
	}
	atomic_fetch_sub(&ch->waiters, 1);
	pthread_mutex_unlock(&ch->lock);
	return code;
}

void lrpc__chan_release(struct shm_chan *ch, struct lrpc__req_buf *rb)
{
	struct chan_lane *cl = (struct chan_lane *)rb;
	bool timed_out = cl->timed_out;

	cl->timed_out = false;
	atomic_store_explicit(&cl->use, timed_out ? LANE_ABANDONED : LANE_FREE,
			      memory_order_seq_cst);
	/* Sequentially consistent against the waiter count: either a waiter
	 * sees this lane free, or we see the waiter. */
	if (atomic_load_explicit(&ch->waiters, memory_order_seq_cst)) {
		pthread_mutex_lock(&ch->lock);
		lrpc__chan_wake_waiters(ch);
		pthread_mutex_unlock(&ch->lock);
	}
	lrpc__chan_unref(ch);
}

/* Write the call's metadata into the lane of \p cl, whose buffer holds
 * the request, ready for the hand-off to publish. */
void lrpc__chan_prepare(struct chan_lane *cl, uint32_t method_id,
			size_t req_len, lrpc_deadline deadline)
{
	struct lrpc__lane *lane = cl->lane;

	cl->seq++;
	lane->call.seq = cl->seq;
	lane->call.deadline = deadline;
	lane->call.method_id = method_id;
	lane->call.req_len = (uint32_t)req_len;
	lane->call.md_len = 0;
}

/* Write the request metadata of \p cl's rb after its request; the call
 * metadata's md_len says it is there. Only calls with metadata come here. */
lrpc_code lrpc__chan_put_md(struct chan_lane *cl, size_t req_len, lrpc_status *st)
{
	size_t n = lrpc__md_block_size(cl->rb.md, cl->rb.n_md);

	if (n > cl->ch->geom.buf_size - req_len)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "the request (%zu bytes) and its metadata "
					 "(%zu) exceed the %llu-byte buffer",
					 req_len, n,
					 (unsigned long long)cl->ch->geom.buf_size);
	lrpc__md_block_write(lrpc__lane_buf(cl->lane) + req_len, cl->rb.md,
			     cl->rb.n_md);
	cl->lane->call.md_len = (uint32_t)n;
	return LRPC_OK;
}

/* Copy the response metadata after the reply (the server can rewrite it)
 * into the lists the caller wants filled. */
static lrpc_code chan_take_md(struct shm_chan *ch, struct chan_lane *cl,
			      uint32_t at, lrpc_status *st)
{
	struct lrpc__reply_meta *r = &cl->lane->reply;
	uint32_t hl = LRPC__READ_ONCE(r->hdr_len), tl = LRPC__READ_ONCE(r->trl_len);
	unsigned char *copy;
	int ret = 0;

	if (!hl && !tl)
		return LRPC_OK;
	if (at > ch->geom.buf_size || hl > LRPC__MD_BLOCK_MAX ||
	    tl > LRPC__MD_BLOCK_MAX || hl + tl > ch->geom.buf_size - at)
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "server sent response metadata lengths "
					 "%u and %u past its buffer", hl, tl);
	if (!cl->rb.headers && !cl->rb.trailers)
		return LRPC_OK;
	copy = malloc((size_t)hl + tl);
	if (!copy)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "no memory for response metadata");
	memcpy(copy, lrpc__lane_buf(cl->lane) + at, (size_t)hl + tl);
	if (cl->rb.headers)
		ret = lrpc__md_list_from_block(cl->rb.headers, copy, hl);
	if (ret >= 0 && cl->rb.trailers)
		ret = lrpc__md_list_from_block(cl->rb.trailers, copy + hl, tl);
	free(copy);
	if (ret < 0)
		return lrpc__status_fail(st, ret == -ENOMEM ? LRPC_RESOURCE_EXHAUSTED :
							     LRPC_INTERNAL,
					 "server sent malformed response metadata");
	return LRPC_OK;
}

lrpc_code lrpc__chan_finish(struct shm_chan *ch, struct chan_lane *cl, int ret,
			    lrpc_deadline deadline, const unsigned char **rep,
			    size_t *rep_len, lrpc_status *st)
{
	struct lrpc__lane *lane = cl->lane;
	struct lrpc__reply_meta *r = &lane->reply;
	lrpc_code status;
	uint64_t seq;
	uint32_t code, len;

	if (ret == -EDEADLK)
		return lrpc__status_fail(st, LRPC_FAILED_PRECONDITION,
					 "this thread serves %s calls and cannot also "
					 "make them; open the channel with another hand-off",
					 ch->hand.ops->name);
	if (ret == -ETIMEDOUT) {
		cl->timed_out = true;
		/* The handler may still run: lrpc_call_cancelled() says so. */
		atomic_store_explicit(&lane->call.cancel, 1, memory_order_relaxed);
	}
	else if (ret == -ECONNRESET || (ret == 0 && atomic_load(&ch->dead)))
		/* The server is gone, and a hand-off may say so before it
		 * says the reply came. One that replied and then went (a
		 * stop lets calls in progress finish) wrote the reply's seq
		 * last: that reply stands; without it the call failed. */
		ret = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) == cl->seq ?
			      0 : -ECONNRESET;
	if (ret < 0)
		return lrpc__status_from_errno(st, ret, deadline,
					       "waiting for the reply");

	seq = LRPC__READ_ONCE(r->seq);
	code = LRPC__READ_ONCE(r->code);
	len = LRPC__READ_ONCE(r->rep_len);
	if (seq != cl->seq)
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "reply out of sequence (%llu, wanted %llu)",
					 (unsigned long long)seq,
					 (unsigned long long)cl->seq);
	/* Headers and trailers come whatever the code, after the reply. */
	if (code != LRPC_OK)
		len = 0;
	status = chan_take_md(ch, cl, len, st);
	if (status != LRPC_OK)
		return status;
	status = lrpc__status_from_peer(st, code, r->message,
					sizeof(r->message) - 1);
	if (status != LRPC_OK)
		return status;
	if (len > ch->geom.buf_size)
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "server sent a reply length of %u", len);
	*rep = lrpc__lane_buf(lane);
	*rep_len = len;
	return LRPC_OK;
}

/*
 * Run one call on a lane whose buffer holds the request: prepare, the
 * hand-off's call (for futex: the asynchronous send and a wait on this
 * lane), finish. A call that times out leaves its lane abandoned: busy
 * until the receiver hands it back, so that the late reply can never be
 * taken for a later call's.
 */
lrpc_code lrpc__chan_invoke(struct shm_chan *ch, struct lrpc__req_buf *rb,
			    uint32_t method_id, size_t req_len,
			    lrpc_deadline deadline, const unsigned char **rep,
			    size_t *rep_len, lrpc_status *st)
{
	struct chan_lane *cl = (struct chan_lane *)rb;

	if (lrpc_now() >= deadline)
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
					 "deadline passed before the call was sent");
	lrpc__chan_prepare(cl, method_id, req_len, deadline);
	if (cl->rb.n_md) {
		lrpc_code code = lrpc__chan_put_md(cl, req_len, st);

		if (code != LRPC_OK)
			return code;
	}
	return lrpc__chan_finish(ch, cl,
				 ch->hand.ops->call(&ch->hand, cl->lane,
						    cl->call_word, deadline),
				 deadline, rep, rep_len, st);
}

void lrpc__chan_teardown(struct shm_chan *ch)
{
	if (ch->monitor_started) {
		char b = 0;

		if (write(ch->wake_fd[1], &b, 1) != 1)
			pthread_cancel(ch->monitor);
		pthread_join(ch->monitor, NULL);
	}
	if (ch->attached)
		ch->hand.ops->detach(&ch->hand);
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
	/* refs, top and next stay: a late look at refs reads them. */
	memset(&ch->ctl_fd, 0, sizeof(*ch) - offsetof(struct shm_chan, ctl_fd));
}

int lrpc__chan_dial(struct shm_chan *ch, const lrpc_channel_opts *o,
		    const struct lrpc__addr *addr, lrpc_deadline deadline,
		    lrpc_status *open_status)
{
	struct lrpc__hello h = {
		.magic = LRPC__HELLO_MAGIC,
		.version = LRPC__CTL_VERSION,
	};
	const struct lrpc__handoff *want;
	struct lrpc__welcome w;
	pthread_condattr_t ca;
	int cpu = sched_getcpu();
	int fd, ret;

	ret = lrpc__handoff_hello(o->handoff, &h, &want);
	if (ret < 0)
		return ret;
	/* Where we are, for a server that follows its clients' nodes: the
	 * dialling thread stands for the channel's callers. */
	h.cpu_plus1 = cpu >= 0 ? (uint32_t)cpu + 1 : 0;
	ch->ctl_fd = ch->wake_fd[0] = ch->wake_fd[1] = -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ch->freed, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&ch->lock, NULL);
	ret = ctl_connect(ch, addr, o->trust, deadline, open_status);
	if (ret < 0)
		goto fail;
	fd = handshake(ch, &h, want, deadline, &w, open_status);
	if (fd < 0) {
		ret = fd;
		goto fail;
	}
	ret = region_map(ch, fd);
	close(fd);
	if (ret < 0)
		goto fail;
	ch->hand.dead = &ch->dead;
	ret = ch->hand.ops->attach(&ch->hand, &w);
	if (ret < 0)
		goto fail;
	ch->attached = true;
	if (pipe2(ch->wake_fd, O_CLOEXEC) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = lrpc__thread_start(&ch->monitor, lrpc__shm_monitor, ch, false);
	if (ret < 0)
		goto fail;
	ch->monitor_started = true;
	return 0;
fail:
	lrpc__chan_teardown(ch);
	return ret;
}
