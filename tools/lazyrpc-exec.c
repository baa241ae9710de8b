// SPDX-License-Identifier: MIT
/*
 * lazyrpc-exec: run a command in an RPAL slot of its own.
 *
 *     lazyrpc-exec [--] COMMAND [ARG]...
 *
 * Marks this thread with RPAL_IOC_EXEC_SLOT on /dev/rpal, so that the
 * kernel lays the next program out in a free 512 GiB slot (program,
 * libraries, heap, stacks, vDSO), then executes COMMAND, searching PATH
 * when it has no '/'. Exit status: COMMAND's own, or 125 when the launcher
 * itself fails (bad usage, no RPAL slots in this kernel, none free for this
 * user), 126 when COMMAND cannot run in a slot, 127 when it is not found
 * (as env(1) and the shells count them).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/rpal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define EXIT_FAILED	125
#define EXIT_CANNOT_RUN	126
#define EXIT_NOT_FOUND	127

static const char *prog = "lazyrpc-exec";

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [--] COMMAND [ARG]...\n"
		"Run COMMAND in an RPAL slot of its own (see kernel/README.md).\n",
		prog);
}

/* Why an execve() with the mark failed, in the words of the slot rules. */
static const char *exec_why(int err)
{
	switch (err) {
	case EINVAL:
		return "not a 64-bit position-independent executable "
		       "(build it with -fPIE -pie, or -static-pie)";
	case ENOSPC:
		return "every RPAL slot is in use";
	case EDQUOT:
		return "this user already holds the most RPAL slots one user may";
	default:
		return strerror(err);
	}
}

static int mark_thread(void)
{
	int fd = open("/dev/rpal", O_RDWR | O_CLOEXEC);
	int err;

	if (fd < 0) {
		fprintf(stderr, "%s: /dev/rpal: %s (a kernel with RPAL is needed)\n",
			prog, strerror(errno));
		return -1;
	}
	if (ioctl(fd, RPAL_IOC_EXEC_SLOT, RPAL_EXEC_SLOT) < 0) {
		err = errno;
		fprintf(stderr, "%s: this kernel's RPAL has no slots: %s\n",
			prog, strerror(err));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * execvp() without its /bin/sh fallback on ENOEXEC: that would run a
 * shell in the slot to read a binary as a script. Returns the errno that
 * says best why nothing ran.
 */
static int exec_search(char **argv)
{
	const char *path = getenv("PATH");
	const char *cmd = argv[0];
	char buf[PATH_MAX];
	int best = ENOENT;

	if (strchr(cmd, '/')) {
		execv(cmd, argv);
		return errno;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		size_t n = end - path;

		if (n + 1 + strlen(cmd) + 1 <= sizeof(buf)) {
			/* An empty element is the current directory. */
			snprintf(buf, sizeof(buf), "%.*s%s%s", (int)n, path,
				 n ? "/" : "", cmd);
			execv(buf, argv);
			/* Keep looking past the missing; remember the rest. */
			if (errno != ENOENT && errno != ENOTDIR)
				best = errno;
			if (best != ENOENT && best != EACCES)
				return best;
		}
		path = *end ? end + 1 : end;
	}
	return best;
}

int main(int argc, char **argv)
{
	int first = 1, err;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--"))
		first = 2;
	if (first >= argc || (argv[first][0] == '-' && first == 1)) {
		usage(stderr);
		return EXIT_FAILED;
	}
	if (mark_thread())
		return EXIT_FAILED;
	err = exec_search(argv + first);
	fprintf(stderr, "%s: %s: %s\n", prog, argv[first], exec_why(err));
	if (err == ENOENT || err == ENOTDIR)
		return EXIT_NOT_FOUND;
	return err == ENOSPC || err == EDQUOT ? EXIT_FAILED : EXIT_CANNOT_RUN;
}
