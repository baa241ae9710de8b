// SPDX-License-Identifier: MIT
/*
 * Many concurrent callers on two CPUs: 3 receiver threads in one process,
 * 2 client processes with 4 sender threads each, any-receiver calls. Every
 * call is served exactly once.
 */
#include <pthread.h>
#include "rpal_test.h"

#define RECEIVERS 3
#define CLIENTS 2
#define SENDERS 4
#define CALLS 1500

struct shm {
	struct ctx rctx[RECEIVERS];
	struct ctx sctx[CLIENTS][SENDERS];
	volatile uint64_t key;
	volatile uint32_t id, ready, stop;
	volatile uint32_t served[RECEIVERS];
	volatile uint32_t calls[CLIENTS][SENDERS];
	volatile uint32_t bad;
};

static struct shm *m;
static int fd;

static void *receiver(void *arg)
{
	long i = (long)arg;
	struct rpal_wait w;
	long r;

	rpal_register(fd, &m->rctx[i], 1);
	__atomic_fetch_add(&m->ready, 1, __ATOMIC_SEQ_CST);
	r = rpal_wait(fd, 200000000, &w);
	while (!m->stop) {
		if (r == 0) {
			m->served[i]++;
			if (st(m->rctx[i].word) != RPAL_RECEIVER_KERNEL_RET)
				m->bad++;
			r = rpal_reply_wait(fd, 200000000, &w);
		} else if (errno == ETIMEDOUT) {
			r = rpal_wait(fd, 200000000, &w);
		} else {
			FAIL("receiver %ld: %s", i, strerror(errno));
		}
	}
	return NULL;
}

static int client_no;

static void *sender(void *arg)
{
	long i = (long)arg;

	rpal_register(fd, &m->sctx[client_no][i], 0);
	while (m->calls[client_no][i] < CALLS) {
		if (rpal_call(fd, m->id, 0, 5000000000LL) == 0)
			m->calls[client_no][i]++;
		else if (errno != EAGAIN)
			FAIL("sender %d/%ld: %s", client_no, i, strerror(errno));
	}
	return NULL;
}

int main(void)
{
	struct rpal_service_info info;
	pthread_t t[RECEIVERS > SENDERS ? RECEIVERS : SENDERS];
	pid_t clients[CLIENTS];
	uint32_t served = 0;

	m = shared_alloc(sizeof(*m));
	fd = rpal_open();
	CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
	m->id = info.id;
	for (long i = 0; i < RECEIVERS; i++)
		pthread_create(&t[i], NULL, receiver, (void *)i);
	while (m->ready != RECEIVERS)
		usleep(1000);
	m->key = info.key;

	for (int c = 0; c < CLIENTS; c++) {
		clients[c] = fork();
		if (clients[c] == 0) {
			struct rpal_request req = { .key = m->key };
			pthread_t s[SENDERS];

			client_no = c;
			CHECK_OK(ioctl(fd, RPAL_IOC_ENABLE, &info));
			CHECK_OK(ioctl(fd, RPAL_IOC_REQUEST, &req));
			for (long i = 0; i < SENDERS; i++)
				pthread_create(&s[i], NULL, sender, (void *)i);
			for (int i = 0; i < SENDERS; i++)
				pthread_join(s[i], NULL);
			_exit(0);
		}
	}
	for (int c = 0; c < CLIENTS; c++)
		CHECK(reap(clients[c]) == 0);
	m->stop = 1;
	for (int i = 0; i < RECEIVERS; i++) {
		pthread_join(t[i], NULL);
		served += m->served[i];
		printf("receiver %d served %u\n", i, m->served[i]);
	}
	CHECK(m->bad == 0);
	CHECK(served == CLIENTS * SENDERS * CALLS);
	return 0;
}
