// SPDX-License-Identifier: MIT
/*
 * The rpal-kernel hand-off (RPAL stage K1, /dev/rpal): a call is one ioctl
 * that switches to the named receiver on the caller's CPU and sleeps until
 * the receiver's reply-and-wait switches back.
 *
 * The probe opens /dev/rpal and checks the API version (handoff.c caches
 * the answer and falls back to futex without it). The process enables
 * itself as an RPAL service the first time it needs to (a server to be
 * called, a client to request the server), and each calling thread
 * registers its sender context the first time it calls.
 *
 * The same lanes, call metadata and buffers carry the call as with futex;
 * the receiver's state word, though, lives in the receiver's own memory
 * (struct lrpc__hrecv), never in the region: the kernel vetoes ordinary
 * wakeups of a receiver whose word says CALL, so a client able to write
 * that word could put the receiver to sleep for good.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/rpal.h>

#include "handoff/handoff.h"
#include "handoff/rpal_kernel.h"
#include "wire/lane.h"

/* lane.h spells the state words out; they must be the kernel's. */
_Static_assert((int)LRPC__RX_WAIT == (int)RPAL_RECEIVER_WAIT &&
		       (int)LRPC__RX_CALL == (int)RPAL_RECEIVER_CALL &&
		       (int)LRPC__RX_RUNNING == (int)RPAL_RECEIVER_RUNNING &&
		       (int)LRPC__TX_CALL == (int)RPAL_SENDER_CALL &&
		       LRPC__STATE_MASK == RPAL_STATE_MASK &&
		       LRPC__SENDER_SHIFT == RPAL_SENDER_ID_SHIFT &&
		       LRPC__SERVICE_SHIFT == RPAL_SERVICE_ID_SHIFT &&
		       (LRPC__SERVICE_MASK << LRPC__SERVICE_SHIFT) ==
			       RPAL_SERVICE_ID_MASK &&
		       (LRPC__SENDER_MASK << LRPC__SENDER_SHIFT) ==
			       RPAL_SENDER_ID_MASK,
	       "lane.h state words differ from uapi linux/rpal.h");

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int rpal_fd = -1;

static pthread_mutex_t enable_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rpal_service_info self;
static int enabled; /* 0 not yet, 1 yes, -errno failed */

static pthread_mutex_t peers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t key;
	unsigned int refs;
	/* Channels still holding a grant to a service that died and whose
	 * id the kernel has given to a newer one (a restarted server): their
	 * releases must not release the newer grant. */
	unsigned int stale;
} peers[256];

/* A thread's sender context: the kernel pins the page it lives on. One
 * per thread for both kernel hand-offs (a thread registers once), laid out
 * as rpal-user's stub needs it; K1 reads its first word only. Aligned to
 * its size, so it never crosses a page. */
static __thread alignas(128) struct rpal_uctx sender_ctx;
static __thread int sender_state; /* 0 not yet, 1 registered, -errno */

/*
 * The kernel keeps a service per mm, so a fork child starts as no service,
 * with no grants and no registered threads, while its copy of the state
 * above says otherwise. The locks are held across fork so that the child
 * gets the state whole; /dev/rpal itself stays open, it holds nothing.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&enable_lock);
	pthread_mutex_lock(&peers_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&peers_lock);
	pthread_mutex_unlock(&enable_lock);
}

static void fork_child(void)
{
	enabled = 0;
	memset(&self, 0, sizeof(self));
	memset(peers, 0, sizeof(peers));
	sender_state = 0; /* the forking thread is the child's only one */
	fork_parent();
}

static void probe(void)
{
	int fd;

	fd = open("/dev/rpal", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ioctl(fd, RPAL_IOC_GET_API_VERSION) != RPAL_API_VERSION) {
		close(fd);
		return;
	}
	if (pthread_atfork(fork_prepare, fork_parent, fork_child)) {
		close(fd);
		return;
	}
	rpal_fd = fd;
}

static bool rpal_probe(void)
{
	pthread_once(&probe_once, probe);
	return rpal_fd >= 0;
}

int lrpc__rpal_self(uint32_t *id, uint64_t *key)
{
	int ret;

	if (!rpal_probe())
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


/* Channels to one server share the kernel's grant (peers[], above):
 * released with the last. */
int lrpc__rpal_request(uint64_t key, uint32_t *peer_id)
{
	struct rpal_request req = { .key = key };
	int ret = 0;

	if (!rpal_probe())
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
	/* The id's last holder died, or the kernel would not give it out;
	 * its channels (not closed yet) hold a grant that is gone. */
	peers[req.id].stale += peers[req.id].refs;
	peers[req.id].key = key;
	peers[req.id].refs = 1;
	*peer_id = req.id;
out:
	pthread_mutex_unlock(&peers_lock);
	return ret;
}

void lrpc__rpal_release(uint32_t peer_id, uint64_t key)
{
	if (peer_id > 255)
		return;
	pthread_mutex_lock(&peers_lock);
	if (peers[peer_id].key != key) {
		if (peers[peer_id].stale)
			peers[peer_id].stale--;
	} else if (peers[peer_id].refs && !--peers[peer_id].refs) {
		ioctl(rpal_fd, RPAL_IOC_RELEASE, (unsigned long)peer_id);
	}
	pthread_mutex_unlock(&peers_lock);
}

int lrpc__rpal_fd(void)
{
	pthread_once(&probe_once, probe);
	return rpal_fd;
}

static int sender_register(void)
{
	struct rpal_register reg = { .ctx = (uintptr_t)&sender_ctx };

	if (!sender_state)
		sender_state = ioctl(rpal_fd, RPAL_IOC_REGISTER_SENDER, &reg) < 0 ?
				       -errno : 1;
	return sender_state < 0 ? sender_state : 0;
}

struct rpal_uctx *lrpc__rpal_sender(int *err)
{
	*err = rpal_probe() ? sender_register() : -ENODEV;
	if (*err == -EBUSY)
		*err = -EDEADLK;
	return *err ? NULL : &sender_ctx;
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

static int receiver_register(struct lrpc__rx_ctx *ctx, uint32_t *id)
{
	struct rpal_register reg = { .ctx = (uintptr_t)ctx };

	if (ioctl(rpal_fd, RPAL_IOC_REGISTER_RECEIVER, &reg) < 0)
		return -errno;
	*id = reg.id;
	return 0;
}

static void unregister(void)
{
	ioctl(rpal_fd, RPAL_IOC_UNREGISTER);
}

static int64_t receive(bool reply, int64_t timeout_ns)
{
	struct rpal_wait w = { .timeout_ns = timeout_ns };

	if (ioctl(rpal_fd, reply ? RPAL_IOC_REPLY_WAIT : RPAL_IOC_WAIT, &w) < 0)
		return -errno;
	return (int64_t)(w.service_id << LRPC__SERVICE_SHIFT |
			 w.sender_id << LRPC__SENDER_SHIFT | LRPC__RX_CALL);
}

/* The ops. */

static int rpal_offer(uint32_t *id, uint64_t *key)
{
	(void)key; /* the server needs none to take our calls */
	return lrpc__rpal_self(id, NULL);
}

static int rpal_accept(struct lrpc__hconn *c, const struct lrpc__hello *h,
		       struct lrpc__welcome *w)
{
	/* Calls come through /dev/rpal from the client's service only. */
	if (!h->handoff_id)
		return -EPROTONOSUPPORT;
	if (lrpc__rpal_self(&w->handoff_id, &w->handoff_key) < 0)
		return -EPROTONOSUPPORT;
	c->client_id = h->handoff_id;
	return 0;
}

static int rpal_attach(struct lrpc__hclient *c, const struct lrpc__welcome *w)
{
	uint32_t peer;
	int ret = lrpc__rpal_request(w->handoff_key, &peer);

	if (ret < 0)
		return ret;
	/* The key is what proves who we talk to; an id that does not match
	 * it means the welcome lied. */
	if (peer != w->handoff_id) {
		lrpc__rpal_release(peer, w->handoff_key);
		return -EPROTO;
	}
	c->peer = peer;
	c->grant = w->handoff_key;
	return 0;
}

static void rpal_detach(struct lrpc__hclient *c)
{
	lrpc__rpal_release(c->peer, c->grant);
}

/* The call as one ioctl; errors mapped to the table's. */
static int rpal_call(struct lrpc__hclient *c, struct lrpc__lane *lane,
		     uint32_t call_word, lrpc_deadline deadline)
{
	uint32_t id = LRPC__READ_ONCE(lane->rx.kernel_id);
	int ret;

	(void)call_word; /* the kernel writes the word, with our ids */
	/* EAGAIN: the lane is ours, so its receiver is only on its way into
	 * WAIT (just registered, or just back from a call we gave up on). */
	while ((ret = lrpc__rpal_call(c->peer, id, deadline)) == -EAGAIN &&
	       !atomic_load(c->dead))
		nanosleep(&(struct timespec){ .tv_nsec = 20000 }, NULL);
	switch (ret) {
	case 0:
	case -ETIMEDOUT:
	case -EDEADLK:
		return ret;
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -EPERM:
		return -ECONNRESET;
	default:
		return -EPROTO;
	}
}

/* The receiver word is the kernel's, in the server's memory: the lane is
 * back once the reply to the abandoned call is written (a call that then
 * finds the receiver not yet waiting again is retried, above). */
static bool rpal_returned(struct lrpc__lane *lane, uint64_t seq)
{
	return LRPC__READ_ONCE(lane->reply.seq) == seq;
}

/* Nothing wakes a thread when that happens: look every millisecond. */
static void rpal_wait_returned(struct lrpc__lane *lane, uint64_t seq,
			       lrpc_deadline deadline)
{
	(void)deadline;
	if (!rpal_returned(lane, seq))
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
}

/* The kernel fails a call whose server died (ECONNRESET). */
static void rpal_peer_gone(struct lrpc__lane *lane)
{
	(void)lane;
}

static int rpal_recv_start(struct lrpc__hrecv *r)
{
	uint32_t id = 0;
	int ret = receiver_register(&r->own, &id);

	/* The client names receivers by their kernel ids. */
	r->lane->rx.kernel_id = id;
	return ret;
}

/*
 * Waits time out now and then only to notice a stop: a receiver asleep in
 * the kernel ignores ordinary wakeups by design.
 */
#define STOP_CHECK_NS 250000000

/*
 * The stop is looked at before every wait as well as at each timeout: a
 * client that calls back to back keeps every wait from timing out, and
 * would keep a stopping server serving it for ever. A reply still owed
 * stays owed (r->replying): recv_stop sends it. A call taken once the
 * stop is set is not served: recv_stop's unregister fails it with
 * ECONNRESET, as the futex receiver leaves such a call to the client's
 * seeing the server go.
 */
static int rpal_reply_wait(struct lrpc__hrecv *r)
{
	for (;;) {
		int64_t w;

		if (atomic_load(r->conn->stop))
			return -ESHUTDOWN;
		w = receive(r->replying, STOP_CHECK_NS);
		r->replying = false;
		if (w == -ETIMEDOUT || w == -EINTR)
			continue;
		if (w < 0 || atomic_load(r->conn->stop))
			return -ESHUTDOWN;
		r->replying = true;
		/* The kernel wrote the caller's ids: only this connection's
		 * client may use its receivers. A stranger gets its call back
		 * unanswered and the lane untouched. */
		return lrpc__word_service((uint32_t)w) == r->conn->client_id;
	}
}

/*
 * Reply and wait no time at all: the kernel switches to the caller, and
 * the wait times out as soon as this thread runs again. A call that
 * claimed the receiver in between (only a client that does not wait for
 * its stream's end does that) is taken, and answered by the next
 * reply_wait.
 */
static void rpal_answer(struct lrpc__hrecv *r)
{
	r->replying = receive(true, 0) >= 0;
}

/* A call the reply's switch lets in before the unregister is one taken
 * after the stop: the unregister fails it (ECONNRESET). */
static void rpal_recv_stop(struct lrpc__hrecv *r)
{
	if (r->replying)
		receive(true, 0); /* release the last caller */
	r->replying = false;
	unregister();
}

/* A receiver asleep in the kernel notices the stop at its next timeout. */
static void rpal_kick(struct lrpc__lane *lane)
{
	(void)lane;
}

const struct lrpc__handoff lrpc__handoff_rpal_kernel = {
	.name = "rpal-kernel",
	.peers_may_ptrace = true,
	.probe = rpal_probe,
	.offer = rpal_offer,
	.accept = rpal_accept,
	.attach = rpal_attach,
	.detach = rpal_detach,
	.call = rpal_call,
	.returned = rpal_returned,
	.wait_returned = rpal_wait_returned,
	.peer_gone = rpal_peer_gone,
	.recv_start = rpal_recv_start,
	.reply_wait = rpal_reply_wait,
	.answer = rpal_answer,
	.recv_stop = rpal_recv_stop,
	.kick = rpal_kick,
};
