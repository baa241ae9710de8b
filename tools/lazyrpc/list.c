// SPDX-License-Identifier: MIT
/*
 * `lazyrpc list [--json] [--dir DIR]`: the services in the runtime
 * directory (lrpc_runtime_dir(), or DIR), with the pid and uid of the
 * process serving each (SO_PEERCRED of a connection to its socket), its
 * program and uptime (/proc), and the hand-off a channel to it gets.
 * Sockets nobody listens on any more are left out; sockets that do not
 * speak lrpc:// (a unix:// listener) are listed as such.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tool.h"

struct entry {
	char name[256];
	struct ucred cred;
	char program[64];
	double uptime_s; /* < 0: unknown */
	char transport[16];
	char handoff[32];
};

/* Who listens on \p path? \return 0, -errno (ECONNREFUSED: nobody). */
static int listener_of(const char *path, struct ucred *cred)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(*cred);
	int fd, ret = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Program name and seconds since \p pid started, from /proc. */
static void proc_info(pid_t pid, struct entry *e)
{
	char path[64], buf[1024], *p;
	unsigned long long start;
	double up;
	FILE *f;

	e->uptime_s = -1;
	snprintf(e->program, sizeof(e->program), "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(e->program, sizeof(e->program), f))
			e->program[strcspn(e->program, "\n")] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* Field 22, starttime, counted from the field after "(comm)". */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1)
		return;
	f = fopen("/proc/uptime", "re");
	if (!f)
		return;
	if (fscanf(f, "%lf", &up) == 1)
		e->uptime_s = up - (double)start / (double)sysconf(_SC_CLK_TCK);
	fclose(f);
}

static void probe_handoff(struct entry *e, int64_t timeout_ms)
{
	char uri[300];
	lrpc_channel_opts o;
	lrpc_channel *ch;

	snprintf(uri, sizeof(uri), "lrpc://%s", e->name);
	lrpc_channel_opts_init(&o);
	o.connect_timeout_ms = timeout_ms;
	if (lrpc_channel_open(uri, &o, &ch) == 0) {
		snprintf(e->transport, sizeof(e->transport), "lrpc");
		snprintf(e->handoff, sizeof(e->handoff), "%s", lrpc_channel_handoff(ch));
		lrpc_channel_close(ch);
	} else {
		snprintf(e->transport, sizeof(e->transport), "socket");
		snprintf(e->handoff, sizeof(e->handoff), "-");
	}
}

static void print(const struct entry *v, size_t n, const char *dir, bool json)
{
	if (json) {
		printf("{\"dir\":");
		tool_json_string(stdout, dir);
		printf(",\"services\":[");
	} else {
		printf("%-24s %8s %6s %-16s %10s %-7s %s\n", "NAME", "PID", "UID", "PROGRAM",
		       "UPTIME", "KIND", "HANDOFF");
	}
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = &v[i];

		if (!json) {
			printf("%-24s %8d %6u %-16s %9.0fs %-7s %s\n", e->name, (int)e->cred.pid,
			       (unsigned int)e->cred.uid, e->program, e->uptime_s, e->transport,
			       e->handoff);
			continue;
		}
		printf("%s{\"name\":", i ? "," : "");
		tool_json_string(stdout, e->name);
		printf(",\"pid\":%d,\"uid\":%u,\"program\":", (int)e->cred.pid,
		       (unsigned int)e->cred.uid);
		tool_json_string(stdout, e->program);
		printf(",\"uptime_s\":%.1f,\"transport\":\"%s\",\"handoff\":\"%s\"}",
		       e->uptime_s, e->transport, e->handoff);
	}
	if (json)
		printf("]}\n");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int list_main(int argc, char **argv)
{
	struct tool_conn conn = TOOL_CONN_INIT;
	char dir[256] = "";
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	bool json = false;
	struct dirent *d;
	DIR *dp;

	for (int i = 1; i < argc; i++) {
		int used = tool_conn_option(&conn, argc - i, argv + i);

		if (used < 0)
			return 2;
		if (used)
			i += used - 1;
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			snprintf(dir, sizeof(dir), "%s", argv[++i]);
		else {
			fprintf(stderr, "usage: lazyrpc list [--json] [--dir DIR] [--deadline MS]\n");
			return 2;
		}
	}
	if (!dir[0] && lrpc_runtime_dir(dir, sizeof(dir)) < 0) {
		fprintf(stderr, "lazyrpc list: no runtime directory\n");
		return 1;
	}
	dp = opendir(dir);
	if (!dp) {
		/* No directory yet: no service has ever listened here. */
		if (errno == ENOENT) {
			print(NULL, 0, dir, json);
			return 0;
		}
		fprintf(stderr, "lazyrpc list: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((d = readdir(dp))) {
		char path[512];
		struct stat st;
		struct entry e = { 0 };

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) ||
		    listener_of(path, &e.cred) < 0)
			continue;
		snprintf(e.name, sizeof(e.name), "%s", d->d_name);
		proc_info(e.cred.pid, &e);
		probe_handoff(&e, conn.deadline_ms);
		if (n == cap) {
			struct entry *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!nv) {
				fprintf(stderr, "lazyrpc list: out of memory\n");
				closedir(dp);
				free(v);
				return 1;
			}
			v = nv;
		}
		v[n++] = e;
	}
	closedir(dp);
	if (n)
		qsort(v, n, sizeof(*v), by_name);
	print(v, n, dir, json);
	free(v);
	return 0;
}

const struct tool_cmd tool_cmd_list = {
	.name = "list",
	.summary = "the services in the runtime directory: pid, uid, program, uptime, hand-off",
	.main = list_main,
};
