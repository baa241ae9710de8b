// SPDX-License-Identifier: MIT
/* Reading a `lazyrpc up` manifest (manifest.h has the format). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

struct reader {
	const char *path;
	unsigned int line;
	char *why;
	size_t why_len;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct reader *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->line)
		snprintf(r->why, r->why_len, "%s:%u: %s", r->path, r->line, msg);
	else
		snprintf(r->why, r->why_len, "%s: %s", r->path, msg);
	return -1;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Service names: what a runtime directory name may be, so that a
 * service and its lrpc:// name can be the same word. */
static bool good_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MF_NAME_MAX || s[0] == '.')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == n;
}

/* Split \p v at white space into svc->argv; no shell, no quotes: a
 * command that needs them runs through "sh -c" itself. */
static int set_run(struct reader *r, struct mf_service *svc, char *v)
{
	size_t n = 0;

	if (svc->argv[0])
		return fail(r, "'run' given twice for [%s]", svc->name);
	for (char *tok = strtok(v, " \t"); tok; tok = strtok(NULL, " \t")) {
		if (n == MF_ARGS_MAX)
			return fail(r, "more than %d words in 'run'", MF_ARGS_MAX);
		svc->argv[n] = strdup(tok);
		if (!svc->argv[n])
			return fail(r, "out of memory");
		n++;
	}
	if (n == 0)
		return fail(r, "'run' is empty");
	return 0;
}

static int set_ms(struct reader *r, const char *key, const char *v,
		  unsigned int *out)
{
	char *end;
	unsigned long ms;

	errno = 0;
	ms = strtoul(v, &end, 10);
	if (errno || end == v || *end || ms == 0 || ms > 3600000)
		return fail(r, "'%s' must be 1..3600000 ms, not '%s'", key, v);
	*out = (unsigned int)ms;
	return 0;
}

static int set_string(struct reader *r, const char *key, char **slot,
		      const char *v)
{
	if (*slot)
		return fail(r, "'%s' given twice", key);
	*slot = strdup(v);
	return *slot ? 0 : fail(r, "out of memory");
}

static int set_key(struct reader *r, struct mf_service *svc, const char *key,
		   char *v)
{
	size_t n;

	if (!strcmp(key, "run"))
		return set_run(r, svc, v);
	if (!strcmp(key, "ready"))
		return set_string(r, key, &svc->ready, v);
	if (!strcmp(key, "dir"))
		return set_string(r, key, &svc->dir, v);
	if (!strcmp(key, "ready_timeout_ms"))
		return set_ms(r, key, v, &svc->ready_timeout_ms);
	if (!strcmp(key, "stop_timeout_ms"))
		return set_ms(r, key, v, &svc->stop_timeout_ms);
	if (!strcmp(key, "restart")) {
		if (!strcmp(v, "on-failure"))
			svc->restart = MF_RESTART_ON_FAILURE;
		else if (!strcmp(v, "always"))
			svc->restart = MF_RESTART_ALWAYS;
		else if (!strcmp(v, "never"))
			svc->restart = MF_RESTART_NEVER;
		else
			return fail(r, "'restart' is always, on-failure or never, not '%s'", v);
		return 0;
	}
	if (!strcmp(key, "env")) {
		for (n = 0; svc->env[n]; n++)
			;
		if (n == MF_ENV_MAX)
			return fail(r, "more than %d 'env' lines for [%s]", MF_ENV_MAX,
				    svc->name);
		if (!strchr(v, '=') || v[0] == '=')
			return fail(r, "'env' needs KEY=VALUE, not '%s'", v);
		return set_string(r, key, &svc->env[n], v);
	}
	return fail(r, "unknown key '%s' (run, ready, restart, env, dir, "
		    "ready_timeout_ms, stop_timeout_ms)", key);
}

static int start_section(struct reader *r, struct manifest *m, char *s)
{
	char *end = strchr(s, ']');
	struct mf_service *svc;

	if (!end || end[1])
		return fail(r, "a section is '[name]'");
	*end = '\0';
	s = trim(s + 1);
	if (!good_name(s))
		return fail(r, "bad service name '%s' (1-%d of A-Z a-z 0-9 . _ -)", s,
			    MF_NAME_MAX);
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->svc[i].name, s))
			return fail(r, "service [%s] given twice", s);
	if (m->n == MF_SERVICES_MAX)
		return fail(r, "more than %d services", MF_SERVICES_MAX);
	svc = &m->svc[m->n++];
	strcpy(svc->name, s);
	svc->ready_timeout_ms = 10000;
	svc->stop_timeout_ms = 5000;
	return 0;
}

static int read_lines(struct reader *r, FILE *f, struct manifest *m)
{
	char buf[MF_LINE_MAX + 2];

	while (fgets(buf, sizeof(buf), f)) {
		char *s, *eq;

		r->line++;
		if (!strchr(buf, '\n') && !feof(f))
			return fail(r, "line longer than %d bytes", MF_LINE_MAX);
		s = trim(buf);
		if (!*s || *s == '#')
			continue;
		if (*s == '[') {
			if (start_section(r, m, s) < 0)
				return -1;
			continue;
		}
		eq = strchr(s, '=');
		if (!eq)
			return fail(r, "expected 'key = value' or '[service]'");
		*eq = '\0';
		if (m->n == 0)
			return fail(r, "'%s' before the first [service]", trim(s));
		if (set_key(r, &m->svc[m->n - 1], trim(s), trim(eq + 1)) < 0)
			return -1;
	}
	if (ferror(f))
		return fail(r, "read error");
	r->line = 0;
	if (m->n == 0)
		return fail(r, "no [service] sections");
	for (size_t i = 0; i < m->n; i++)
		if (!m->svc[i].argv[0])
			return fail(r, "[%s] has no 'run'", m->svc[i].name);
	return 0;
}

int mf_load(const char *path, struct manifest *m, char *why, size_t why_len)
{
	struct reader r = { .path = path, .why = why, .why_len = why_len };
	FILE *f;
	int ret;

	memset(m, 0, sizeof(*m));
	f = fopen(path, "re");
	if (!f)
		return fail(&r, "%s", strerror(errno));
	ret = read_lines(&r, f, m);
	fclose(f);
	if (ret < 0)
		mf_free(m);
	return ret;
}

void mf_free(struct manifest *m)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mf_service *svc = &m->svc[i];

		for (char **p = svc->argv; *p; p++)
			free(*p);
		for (char **p = svc->env; *p; p++)
			free(*p);
		free(svc->ready);
		free(svc->dir);
	}
	memset(m, 0, sizeof(*m));
}
