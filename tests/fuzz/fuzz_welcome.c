// SPDX-License-Identifier: MIT
/*
 * The lrpc:// handshake, client side: a hostile server. Per input, a thread
 * of ours listens where lrpc://NAME resolves, takes the client's hello and
 * answers it with what the input says; the client is the public API,
 * lrpc_channel_open() with a short connect timeout, then one call if it
 * opened. Input:
 *   byte 0   flags: bits 0-1 the descriptor sent with the welcome (enum
 *            fz_wl_fd), bit 2 seal the memfd against shrinking, bit 3 size
 *            it as bytes 74-81 say (else as the welcome's region_size),
 *            bit 4 shrink it to nothing once the channel is open, bit 5
 *            hang up after the welcome, bit 6 answer the call on lane 0,
 *            bit 7 answer with the sequence number at bytes 90-97
 *   byte 1   0: send the whole welcome; n: send its first n - 1 bytes
 *            (zeros past the struct)
 *   2-73     struct lrpc__welcome; 74-81 memfd size; 82-85 reply code;
 *   86-89    reply length; 90-97 reply sequence
 *   98       signals to the client's thread: bit 0 while it waits for the
 *            welcome, bit 1 while it waits for the reply
 *   99-      the reply's message and body (both start there)
 * Shorter inputs read as zero-padded. Invariants:
 *  - the client's hello is a hello;
 *  - open returns exactly what fz_wl_expect() says the welcome deserves
 *    (a clear -errno for every malformed one), within its timeout and a
 *    margin (a hang check, not a speed one);
 *  - the call returns a valid code by its deadline, and a well-formed
 *    answer comes back intact;
 *  - no descriptor is left open (ASan checks memory at exit).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"

/* The timeouts of the opens and calls that must wait for nothing: short,
 * as each is a wait per input. */
#define CONNECT_MS 10
#define CALL_MS 10
/* Beyond the timeouts: only a hang fails this. 2 s was once outrun by a
 * machine loaded far past its cores (crash-stall-under-load). */
#define MARGIN_MS FZ_HANG_MS
#define HDR 99
#define MAX_MAP (64u * 1024) /* of lane 0's buffer, on our side */

enum {
	F_SEAL = 1 << 2, F_SIZED = 1 << 3, F_SHRINK = 1 << 4,
	F_HANGUP = 1 << 5, F_ANSWER = 1 << 6, F_SEQ = 1 << 7,
	SIG_WELCOME = 1 << 0, SIG_REPLY = 1 << 1,
};

static char uri[128];
static pid_t client_tid; /* the thread that runs the client */
static int listen_fd = -1;
static int to_server[2]; /* main -> server thread: opened?, then done */
static int to_client[2]; /* server thread -> main: ready for the call */

struct input {
	uint8_t flags, signals;
	size_t sent;
	unsigned char welcome[256];
	uint64_t fd_size;
	struct fz_wl_reply reply;
	unsigned char message[LRPC_STATUS_MSG_MAX];
};

struct server {
	const struct input *in;
	/* What the thread did, for the checks. */
	enum fz_wl_fd fd_kind;
	bool sealed;
	uint64_t fd_size;
	void *lane0; /* our mapping of it, while we may answer */
	size_t lane0_len;
	bool answered;
};

static void on_signal(int sig)
{
	(void)sig;
}

/* Interrupt the client's thread once it sleeps (in the syscall it makes
 * next: it has sent what we waited for), as any signal of its process
 * may. A busy look, bounded: this is a test of EINTR, not of timing. */
static void interrupt_client(void)
{
	lrpc_deadline until = lrpc_deadline_after_ms(FZ_HANG_MS);
	char path[64], stat[256];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)client_tid);
	while (lrpc_now() < until) {
		FILE *f = fopen(path, "r");
		char *p = NULL;

		if (!f)
			fz_die("%s: %s", path, strerror(errno));
		if (fgets(stat, sizeof(stat), f))
			p = strrchr(stat, ')');
		fclose(f);
		if (p && p[1] == ' ' && p[2] == 'S')
			break;
		sched_yield();
	}
	if (syscall(SYS_tgkill, getpid(), client_tid, SIGRTMIN + 3))
		fz_die("tgkill: %s", strerror(errno));
}

static struct sockaddr_un listen_sa = { .sun_family = AF_UNIX };

/* A listener for one input. The fake server answers one connection and
 * then stops listening, so the channel's reconnect (once this server is
 * gone) is refused at once instead of waiting in a backlog nobody reads,
 * and never reaches the next input's server. */
static void listen_up(void)
{
	unlink(listen_sa.sun_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&listen_sa, sizeof(listen_sa)) ||
	    listen(listen_fd, 4))
		fz_die("no fake server: %s", strerror(errno));
}

static void cleanup(void)
{
	char path[108];

	if (listen_fd >= 0)
		close(listen_fd);
	fz_runtime_path(path, sizeof(path), "fuzz-welcome", "");
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[sizeof(listen_sa.sun_path)];

	(void)argc, (void)argv;
	signal(SIGPIPE, SIG_IGN);
	/* No SA_RESTART: the harshest signal a client's process may take. */
	if (sigaction(SIGRTMIN + 3, &(struct sigaction){ .sa_handler = on_signal },
		      NULL))
		fz_die("sigaction: %s", strerror(errno));
	/* The hand-off is the welcome's to name, not the environment's. */
	unsetenv("LAZYRPC_HANDOFF");
	fz_runtime_path(path, sizeof(path), "fuzz-welcome", "");
	snprintf(uri, sizeof(uri), "lrpc://%s", strrchr(path, '/') + 1);
	strcpy(listen_sa.sun_path, path);
	if (pipe2(to_server, O_CLOEXEC) || pipe2(to_client, O_CLOEXEC))
		fz_die("no fake server: %s", strerror(errno));
	atexit(cleanup);
	return 0;
}

static void parse(const uint8_t *data, size_t size, struct input *in)
{
	unsigned char h[HDR] = { 0 };
	uint32_t v32;
	size_t rest = size > HDR ? size - HDR : 0;

	memcpy(h, data, size < HDR ? size : HDR);
	memset(in, 0, sizeof(*in));
	in->flags = h[0];
	in->signals = h[98];
	in->sent = h[1] ? h[1] - 1u : fz_wl_size;
	memcpy(in->welcome, h + 2, fz_wl_size);
	memcpy(&in->fd_size, h + 74, 8);
	in->fd_size &= (1ull << 40) - 1;
	memcpy(&in->reply.code, h + 82, 4);
	memcpy(&v32, h + 86, 4);
	in->reply.len = v32;
	in->reply.seq_given = in->flags & F_SEQ;
	memcpy(&in->reply.seq, h + 90, 8);
	memcpy(in->message, data + HDR, rest < sizeof(in->message) ? rest :
					  sizeof(in->message));
	in->reply.message = in->message;
	in->reply.body = data + HDR;
	in->reply.body_len = rest;
}

static int wait_in(int fd, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	/* Our signal for the client may come late, when its thread waits
	 * here instead. */
	n = fz_poll(&p, 1, FZ_HANG_MS);
	if (n != 1)
		fz_die("no %s for %d ms", what, FZ_HANG_MS);
	return 0;
}

static char get_word(int fd, const char *what)
{
	char c;

	wait_in(fd, what);
	if (read(fd, &c, 1) != 1)
		fz_die("no %s", what);
	return c;
}

static void put_word(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		fz_die("write: %s", strerror(errno));
}

/* The descriptor to send with the welcome; *memfd keeps a memfd's. */
static int make_fd(struct server *s, int *memfd, int pipe_fds[2])
{
	const struct input *in = s->in;
	struct stat st;
	int fd;

	s->fd_kind = (enum fz_wl_fd)(in->flags & 3);
	switch (s->fd_kind) {
	case FZ_WL_FD_NONE:
		return -1;
	case FZ_WL_FD_PIPE:
		if (pipe2(pipe_fds, O_CLOEXEC))
			fz_die("pipe: %s", strerror(errno));
		return pipe_fds[0];
	case FZ_WL_FD_NULL:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			fz_die("/dev/null: %s", strerror(errno));
		return fd;
	case FZ_WL_FD_MEMFD:
		break;
	}
	fd = memfd_create("fuzz-welcome", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		fz_die("memfd_create: %s", strerror(errno));
	/* A size the file system refuses leaves it empty: a lie too, which
	 * fstat() below tells the checks. */
	if (ftruncate(fd, (off_t)(in->flags & F_SIZED ? in->fd_size :
			     fz_wl_region_size(in->welcome) & ((1ull << 40) - 1))) < 0)
		s->fd_size = 0;
	if (in->flags & F_SEAL)
		s->sealed = !fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL);
	if (fstat(fd, &st))
		fz_die("fstat: %s", strerror(errno));
	s->fd_size = (uint64_t)st.st_size;
	*memfd = fd;
	return fd;
}

static void send_welcome(int conn, const struct input *in, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = (void *)in->welcome,
			     .iov_len = in->sent };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), &fd, sizeof(int));
	}
	/* The client may have hung up already: that is its business. */
	if (in->sent)
		(void)sendmsg(conn, &msg, MSG_NOSIGNAL);
}

/* Once the channel is open: the hostile moves, then lane 0 made ready. */
static void after_open(struct server *s, int memfd)
{
	const struct input *in = s->in;
	uint64_t buf = fz_wl_buf_size(in->welcome);
	size_t map = fz_wl_lane_hdr + (buf < MAX_MAP ? buf : MAX_MAP);
	bool shrunk = (in->flags & F_SHRINK) && !ftruncate(memfd, 0);
	struct fz_wl_reply r = in->reply;
	void *base;

	if (shrunk || !(in->flags & F_ANSWER) || s->fd_size < map) {
		put_word(to_client[1], 1);
		return;
	}
	base = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (base == MAP_FAILED)
		fz_die("mmap: %s", strerror(errno));
	if (r.body_len > map - fz_wl_lane_hdr)
		r.body_len = map - fz_wl_lane_hdr;
	fz_wl_lane_init(base);
	s->lane0 = base;
	s->lane0_len = map;
	put_word(to_client[1], 1);
	s->answered = fz_wl_answer(base, &r,
				   lrpc_deadline_after_ms(FZ_HANG_MS),
				   in->signals & SIG_REPLY ? interrupt_client :
							     NULL);
	/* Unmapped once the client's thread says it is done. */
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	const struct input *in = s->in;
	unsigned char hello[64];
	int conn, fd, memfd = -1, pipe_fds[2] = { -1, -1 };
	size_t got = 0;

	wait_in(listen_fd, "client connecting");
	conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		fz_die("accept: %s", strerror(errno));
	close(listen_fd);
	listen_fd = -1;
	while (got < fz_wl_hello_size) {
		ssize_t n;

		wait_in(conn, "hello");
		n = read(conn, hello + got, fz_wl_hello_size - got);
		if (n <= 0)
			fz_die("the client hung up before its hello");
		got += (size_t)n;
	}
	if (!fz_wl_hello_ok(hello))
		fz_die("the client's hello has a bad magic or version");
	if (in->signals & SIG_WELCOME)
		interrupt_client();
	fd = make_fd(s, &memfd, pipe_fds);
	send_welcome(conn, in, fd);
	if (fd >= 0 && fd != memfd)
		close(fd);
	if (pipe_fds[1] >= 0)
		close(pipe_fds[1]);
	if (in->flags & F_HANGUP) {
		close(conn);
		conn = -1;
	}
	if (get_word(to_server[0], "word from the client's thread") &&
	    memfd >= 0)
		after_open(s, memfd);
	else
		put_word(to_client[1], 1);
	get_word(to_server[0], "client's thread done");
	if (s->lane0)
		munmap(s->lane0, s->lane0_len);
	if (memfd >= 0)
		close(memfd);
	if (conn >= 0)
		close(conn);
	return NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		fz_die("/proc/self/fd: %s", strerror(errno));
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in;
	struct server s = { .in = &in };
	unsigned char rep[256];
	size_t rep_len = 0;
	lrpc_channel_opts o;
	lrpc_channel *ch = NULL;
	lrpc_deadline t0, deadline;
	lrpc_status st;
	lrpc_code code = LRPC_OK;
	pthread_t t;
	int fds = count_fds(), ret, want;
	int64_t call_ms = CALL_MS;
	bool hangup, waits, served = false;

	parse(data, size, &in);
	client_tid = (pid_t)syscall(SYS_gettid);
	hangup = in.flags & F_HANGUP;
	listen_up(); /* closed by the server thread: fds stay as counted */
	if (pthread_create(&t, NULL, server_main, &s))
		fz_die("no server thread");
	lrpc_channel_opts_init(&o);
	/* Only a short welcome the server sits on makes the client wait:
	 * a short timeout then. A whole one is there at once, so the long
	 * timeout only turns a hang into a report, and a slow thread of ours
	 * cannot make it expire. */
	waits = !hangup && in.sent < fz_wl_size;
	o.connect_timeout_ms = waits ? CONNECT_MS : FZ_HANG_MS;
	t0 = lrpc_now();
	ret = lrpc_channel_open(uri, &o, &ch);
	if (lrpc_now() - t0 > (o.connect_timeout_ms + MARGIN_MS) * 1000000ll)
		fz_die("open took %lld ms", (long long)(lrpc_now() - t0) / 1000000);
	put_word(to_server[1], ret == 0);
	get_word(to_client[0], "word from the server thread");
	/* The thread decided the descriptor before the client read it. */
	want = fz_wl_expect(in.welcome, in.sent, hangup, s.fd_kind, s.sealed,
			    s.fd_size);
	if (want != FZ_WL_ANY && ret != want)
		fz_die("open returned %d (%s), not %d", ret, strerror(-ret),
		       want);
	if (ret > 0 || ret <= -4096 || (ret == 0) != (ch != NULL))
		fz_die("open returned %d, channel %p", ret, (void *)ch);
	if (ch) {
		/* A call the server answers on the one lane may take its time;
		 * any other finds nobody and gives up at a short deadline. */
		served = s.lane0 && fz_wl_nlanes(in.welcome) == 1;
		if (served)
			call_ms = FZ_HANG_MS;
		deadline = lrpc_deadline_after_ms(call_ms);
		t0 = lrpc_now();
		code = lrpc_channel_call_raw(ch, 1, "abc", 3, rep, sizeof(rep),
					     &rep_len, deadline, &st);
		if (lrpc_now() - t0 > (call_ms + MARGIN_MS) * 1000000ll)
			fz_die("the call took %lld ms",
			       (long long)(lrpc_now() - t0) / 1000000);
		if ((unsigned int)code >= LRPC_CODE_COUNT)
			fz_die("the call returned code %d", (int)code);
		if (code != LRPC_OK && rep_len)
			fz_die("a failed call (%s) left a reply", lrpc_code_name(code));
		if (code == LRPC_OK && rep_len > sizeof(rep))
			fz_die("a reply past the buffer");
	}
	lrpc_channel_close(ch);
	if (s.lane0)
		fz_wl_kick(s.lane0);
	put_word(to_server[1], 1);
	if (pthread_join(t, NULL))
		fz_die("pthread_join");
	/* Lane 0's answer, well-formed, on a channel with nothing else to
	 * trip on, must come back as it was written. (s.answered is the
	 * thread's to write until it is joined.) */
	if (served && s.answered && !hangup && in.sent == fz_wl_size &&
	    !(in.flags & F_SEQ) && in.reply.code == 0 &&
	    in.reply.len <= sizeof(rep) &&
	    in.reply.len <= fz_wl_buf_size(in.welcome) &&
	    in.reply.len <= in.reply.body_len &&
	    (code != LRPC_OK || rep_len != in.reply.len ||
	     memcmp(rep, in.reply.body, rep_len)))
		fz_die("a good answer came back as %s, %zu bytes",
		       lrpc_code_name(code), rep_len);
	if (count_fds() != fds)
		fz_die("%d descriptors before the input, %d after", fds,
		       count_fds());
	return 0;
}
