// SPDX-License-Identifier: MIT
/*
 * `lazyrpc up MANIFEST`: start the manifest's services in order, each once
 * the one before is ready; restart one that ends, with a backoff and a
 * limit; on SIGTERM or SIGINT stop them in reverse order, each given its
 * stop_timeout_ms after SIGTERM before SIGKILL.
 *
 * A supervisor of its own rather than systemd units: the test machines
 * and containers lazyrpc runs in have no service manager (no user manager
 * either), readiness means "a channel opens", which systemd cannot ask,
 * and one file of a few lines describes a whole mesh. Children get
 * PR_SET_PDEATHSIG, so a supervisor killed outright takes them along.
 * Everything waits on descriptors (pidfds, a signalfd), so a service that
 * ends is seen at once, not at the next poll.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lazyrpc/lazyrpc.h>

#include "manifest.h"
#include "tool.h"

/* More restarts than this within RESTART_WINDOW_MS and the supervisor
 * gives up on the whole mesh (as systemd's start limit does). */
#define RESTART_BURST 5
#define RESTART_WINDOW_MS 60000
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000

struct child {
	const struct mf_service *svc;
	pid_t pid;         /* 0: not running */
	int pidfd;
	unsigned int recent; /* restarts in the window */
	int64_t window_start, restart_at; /* ms; restart_at 0: none planned */
};

struct up {
	struct child c[MF_SERVICES_MAX];
	size_t n;
	int sigfd;
	bool stopping;
};

static int64_t now_ms(void)
{
	return lrpc_now() / 1000000;
}

__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("lazyrpc up: ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

static void describe_exit(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended (status 0x%x)", status);
}

static int spawn(struct child *ch)
{
	const struct mf_service *svc = ch->svc;
	pid_t parent = getpid(), pid;
	sigset_t none;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			_exit(126);
		if (svc->dir && chdir(svc->dir) < 0) {
			fprintf(stderr, "lazyrpc up: [%s] dir %s: %s\n", svc->name,
				svc->dir, strerror(errno));
			_exit(126);
		}
		for (char *const *e = svc->env; *e; e++)
			putenv(*e);
		execvp(svc->argv[0], svc->argv);
		fprintf(stderr, "lazyrpc up: [%s] %s: %s\n", svc->name, svc->argv[0],
			strerror(errno));
		_exit(127);
	}
	ch->pid = pid;
	ch->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (ch->pidfd < 0) {
		int err = -errno;

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ch->pid = 0;
		return err;
	}
	say("started %s (pid %d)", svc->name, (int)pid);
	return 0;
}

/* Collect an ended child. \return its wait status. */
static int reap(struct child *ch)
{
	int status = 0;

	waitpid(ch->pid, &status, 0);
	close(ch->pidfd);
	ch->pid = 0;
	ch->pidfd = -1;
	return status;
}

/* Stop one child: SIGTERM, then SIGKILL after its stop timeout. */
static void stop_child(struct child *ch)
{
	struct pollfd p = { .fd = ch->pidfd, .events = POLLIN };
	char how[96];

	if (!ch->pid)
		return;
	kill(ch->pid, SIGTERM);
	if (poll(&p, 1, (int)ch->svc->stop_timeout_ms) == 0) {
		say("%s did not stop within %u ms of SIGTERM: SIGKILL", ch->svc->name,
		    ch->svc->stop_timeout_ms);
		kill(ch->pid, SIGKILL);
	}
	describe_exit(reap(ch), how, sizeof(how));
	say("stopped %s (%s)", ch->svc->name, how);
}

static void stop_all(struct up *u)
{
	u->stopping = true;
	for (size_t i = u->n; i-- > 0;)
		stop_child(&u->c[i]);
}

/* Did a stop signal come? Consumes it. */
static bool stop_signalled(struct up *u)
{
	struct signalfd_siginfo si;

	return read(u->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si);
}

enum ready { READY, NOT_READY, STOP };

/*
 * Wait until \p ch's ready URI opens, its timeout passes, it ends, or a
 * stop signal comes. Opening is tried again after a growing pause (10 ms
 * to 200 ms): no descriptor says a server has started serving.
 */
static enum ready wait_ready(struct up *u, struct child *ch)
{
	const struct mf_service *svc = ch->svc;
	int64_t deadline = now_ms() + svc->ready_timeout_ms;
	int pause = 10;

	if (!svc->ready)
		return READY;
	for (;;) {
		struct pollfd p[2] = { { .fd = u->sigfd, .events = POLLIN },
				       { .fd = ch->pidfd, .events = POLLIN } };
		int64_t left = deadline - now_ms();
		lrpc_channel_opts o;
		lrpc_channel *chan;

		lrpc_channel_opts_init(&o);
		o.connect_timeout_ms = left > 1000 ? 1000 : left > 0 ? left : 1;
		if (lrpc_channel_open(svc->ready, &o, &chan) == 0) {
			lrpc_channel_close(chan);
			say("%s is ready (%s)", svc->name, svc->ready);
			return READY;
		}
		left = deadline - now_ms();
		if (left <= 0) {
			say("%s was not ready within %u ms (%s did not open)", svc->name,
			    svc->ready_timeout_ms, svc->ready);
			return NOT_READY;
		}
		if (poll(p, 2, (int)(left < pause ? left : pause)) > 0) {
			if (p[0].revents && stop_signalled(u))
				return STOP;
			if (p[1].revents) {
				char how[96];

				describe_exit(reap(ch), how, sizeof(how));
				say("%s %s before it was ready", svc->name, how);
				return NOT_READY;
			}
		}
		pause = pause < 100 ? pause * 2 : 200;
	}
}

/* Start \p ch and wait for it. \return READY, NOT_READY (it is not
 * running then), STOP (a stop signal came; it may be running). */
static enum ready start(struct up *u, struct child *ch)
{
	enum ready r;
	int ret = spawn(ch);

	if (ret < 0) {
		say("cannot start %s: %s", ch->svc->name, strerror(-ret));
		return NOT_READY;
	}
	r = wait_ready(u, ch);
	if (r == NOT_READY && ch->pid) {
		kill(ch->pid, SIGKILL);
		reap(ch);
	}
	return r;
}

/* \p ch ended (or never got ready): plan its restart, or say why not.
 * \return false if the mesh must stop. */
static bool plan_restart(struct child *ch, int status)
{
	const struct mf_service *svc = ch->svc;
	bool failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	int64_t now = now_ms(), delay;

	if (svc->restart == MF_RESTART_NEVER ||
	    (svc->restart == MF_RESTART_ON_FAILURE && !failed)) {
		say("%s is not restarted (restart = %s)", svc->name,
		    svc->restart == MF_RESTART_NEVER ? "never" : "on-failure");
		return true;
	}
	if (now - ch->window_start > RESTART_WINDOW_MS) {
		ch->window_start = now;
		ch->recent = 0;
	}
	if (ch->recent == RESTART_BURST) {
		say("giving up: %s ended %d times within %d s", svc->name,
		    RESTART_BURST + 1, RESTART_WINDOW_MS / 1000);
		return false;
	}
	delay = (int64_t)BACKOFF_FIRST_MS << ch->recent;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	ch->recent++;
	ch->restart_at = now + delay;
	say("restarting %s in %lld ms (restart %u of %d within %d s)", svc->name,
	    (long long)delay, ch->recent, RESTART_BURST, RESTART_WINDOW_MS / 1000);
	return true;
}

/* Supervise until a stop signal (0) or a service beyond saving (1). */
static int supervise(struct up *u)
{
	for (;;) {
		struct pollfd p[MF_SERVICES_MAX + 1] = { { .fd = u->sigfd, .events = POLLIN } };
		struct child *who[MF_SERVICES_MAX + 1];
		int64_t next = -1, now = now_ms();
		int np = 1;

		for (size_t i = 0; i < u->n; i++) {
			struct child *ch = &u->c[i];

			if (ch->pid) {
				p[np] = (struct pollfd){ .fd = ch->pidfd, .events = POLLIN };
				who[np++] = ch;
			} else if (ch->restart_at && (next < 0 || ch->restart_at < next)) {
				next = ch->restart_at;
			}
		}
		if (poll(p, np, next < 0 ? -1 : next > now ? (int)(next - now) : 0) < 0 &&
		    errno != EINTR)
			return 1;
		if (p[0].revents && stop_signalled(u))
			return 0;
		for (int i = 1; i < np; i++) {
			char how[96];
			int status;

			if (!p[i].revents)
				continue;
			status = reap(who[i]);
			describe_exit(status, how, sizeof(how));
			say("%s %s", who[i]->svc->name, how);
			if (!plan_restart(who[i], status))
				return 1;
		}
		now = now_ms();
		for (size_t i = 0; i < u->n; i++) {
			struct child *ch = &u->c[i];
			enum ready r;

			if (ch->pid || !ch->restart_at || ch->restart_at > now)
				continue;
			ch->restart_at = 0;
			r = start(u, ch);
			if (r == STOP)
				return 0;
			/* A restart that never got ready counts as a failure. */
			if (r == NOT_READY && !plan_restart(ch, 1 << 8))
				return 1;
		}
	}
}

static int up_main(int argc, char **argv)
{
	static struct manifest m;
	static struct up u;
	char why[512];
	sigset_t stop;
	int ret = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: lazyrpc up MANIFEST\n");
		return 2;
	}
	if (mf_load(argv[1], &m, why, sizeof(why)) < 0) {
		fprintf(stderr, "lazyrpc up: %s\n", why);
		return 2;
	}
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	u.sigfd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (u.sigfd < 0) {
		fprintf(stderr, "lazyrpc up: signalfd: %s\n", strerror(errno));
		mf_free(&m);
		return 1;
	}
	u.n = m.n;
	for (size_t i = 0; i < m.n; i++)
		u.c[i] = (struct child){ .svc = &m.svc[i], .pidfd = -1 };
	for (size_t i = 0; i < u.n && ret == 0; i++) {
		enum ready r = start(&u, &u.c[i]);

		if (r == NOT_READY)
			ret = 1;
		else if (r == STOP)
			ret = -1;
	}
	if (ret == 0) {
		say("all %zu services are up", u.n);
		ret = supervise(&u);
	} else {
		ret = ret < 0 ? 0 : 1;
	}
	say("stopping");
	stop_all(&u);
	mf_free(&m);
	close(u.sigfd);
	return ret;
}

const struct tool_cmd tool_cmd_up = {
	.name = "up",
	.summary = "run the services of a manifest, restart them, stop them in order",
	.main = up_main,
};
