// SPDX-License-Identifier: MIT
/*
 * An lrpc:// channel's control socket after the handshake: the monitor
 * thread that notices the server's death, and asking the server for one
 * more receiver when every lane the channel may use is busy (the bytes are
 * in wire/handshake.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "handoff/bell.h"
#include "transport/lrpc_client.h"
#include "wire/handshake.h"

/* The server said a lane more has a receiver: lend it out. \return false
 * for a byte that is no such answer, or one not asked for. */
static bool grown(struct shm_chan *ch, unsigned char b)
{
	uint32_t n = atomic_load(&ch->active);

	if (b != LRPC__CTL_GROWN || n >= ch->geom.nlanes ||
	    !atomic_load(&ch->grow_pending))
		return false;
	pthread_mutex_lock(&ch->lock);
	atomic_store(&ch->active, n + 1);
	atomic_store(&ch->grow_pending, 0);
	lrpc__chan_wake_waiters(ch);
	pthread_mutex_unlock(&ch->lock);
	return true;
}

/* Read what the server sent. \return false once it is gone or broke the
 * protocol (then the channel is as good as dead). */
static bool ctl_read(struct shm_chan *ch)
{
	unsigned char buf[16];
	ssize_t n = recv(ch->ctl_fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	for (ssize_t i = 0; i < n; i++)
		if (!grown(ch, buf[i]))
			return false;
	return n > 0;
}

void *lrpc__shm_monitor(void *arg)
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
		/* Data first: a hang-up after an answer still delivers it. */
		if ((p[0].revents & POLLIN) && ctl_read(ch))
			continue;
		if (p[0].revents)
			break;
	}
	atomic_store(&ch->dead, 1);
	for (uint32_t i = 0; i < ch->geom.nlanes; i++) {
		ch->hand.ops->peer_gone(ch->lanes[i].lane);
		/* A stream's waiters sleep on its bell. */
		lrpc__bell_kick(&ch->lanes[i].lane->stream.cli_bell);
	}
	pthread_mutex_lock(&ch->lock);
	lrpc__chan_wake_waiters(ch);
	pthread_mutex_unlock(&ch->lock);
	return NULL;
}

bool lrpc__shm_grow(struct shm_chan *ch)
{
	static const char grow = LRPC__CTL_GROW;
	int idle = 0;

	if (atomic_load(&ch->active) >= ch->geom.nlanes)
		return false;
	if (!atomic_compare_exchange_strong(&ch->grow_pending, &idle, 1))
		return true; /* asked already: the answer wakes us too */
	/* One byte into an empty socket buffer: it does not block. */
	if (send(ch->ctl_fd, &grow, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
		return true;
	atomic_store(&ch->grow_pending, 0);
	return false;
}
