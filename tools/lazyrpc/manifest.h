/* SPDX-License-Identifier: MIT */
/*
 * The manifest of `lazyrpc up`: which services to run, in what order, how
 * to know each is up and what to do when one ends. An INI-like file:
 *
 *   # comment
 *   [kv]                          one section per service, started in order
 *   run = kv-server --dir /var/lib/kv lrpc://kv
 *   ready = lrpc://kv             up once a channel to it opens
 *   restart = on-failure          always | on-failure | never
 *   env = KV_CACHE=64             repeatable
 *
 * Every limit is a constant here; a file past one is refused, not cut.
 */
#ifndef LAZYRPC_TOOL_MANIFEST_H
#define LAZYRPC_TOOL_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#define MF_SERVICES_MAX 32
#define MF_ARGS_MAX 64
#define MF_ENV_MAX 16
#define MF_NAME_MAX 64
#define MF_LINE_MAX 4096

enum mf_restart { MF_RESTART_ON_FAILURE, MF_RESTART_ALWAYS, MF_RESTART_NEVER };

struct mf_service {
	char name[MF_NAME_MAX + 1];
	char *argv[MF_ARGS_MAX + 1]; /* NULL-terminated, owned */
	char *env[MF_ENV_MAX + 1];   /* "KEY=VALUE", NULL-terminated, owned */
	char *ready;                 /* URI, or NULL: up once started */
	char *dir;                   /* working directory, or NULL */
	enum mf_restart restart;
	unsigned int ready_timeout_ms; /* default 10000 */
	unsigned int stop_timeout_ms;  /* SIGTERM to SIGKILL; default 5000 */
};

struct manifest {
	struct mf_service svc[MF_SERVICES_MAX];
	size_t n;
};

/*
 * Read \p path into \p m (zeroed first). On failure \p why says where and
 * what ("mesh.conf:3: unknown key 'rnu'"), and \p m holds nothing to free.
 * \return 0, -1.
 */
int mf_load(const char *path, struct manifest *m, char *why, size_t why_len);

/* Free what mf_load() allocated. */
void mf_free(struct manifest *m);

#endif
