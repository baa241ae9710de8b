// SPDX-License-Identifier: MIT
/* Names: "lrpc://NAME" and the runtime directory NAME lives in. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

#define NAME_MAX_LEN 64

int lrpc_runtime_dir(char *buf, size_t len)
{
	const char *env = getenv("LAZYRPC_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env)
		n = snprintf(buf, len, "%s/lazyrpc", env);
	else
		n = snprintf(buf, len, "/tmp/lazyrpc-%u", (unsigned int)getuid());
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* A name is one path component a user can type: no slashes, no dot-dot. */
static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		      *p == '.'))
			return false;
	}
	return true;
}

static int parse_lrpc(const char *name, struct lrpc__addr *addr)
{
	char dir[4096];
	int ret, n;

	if (!name_ok(name))
		return -EINVAL;
	ret = lrpc_runtime_dir(dir, sizeof(dir));
	if (ret < 0)
		return ret;
	n = snprintf(addr->path, sizeof(addr->path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(addr->path))
		return -ENAMETOOLONG;
	return 0;
}

static int parse_unix(const char *path, struct lrpc__addr *addr)
{
	size_t n = strlen(path);

	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(addr->path))
		return -ENAMETOOLONG;
	memcpy(addr->path, path, n + 1);
	return 0;
}

/* HOST:PORT, HOST may be a [bracketed] IPv6 address; PORT 0..65535. */
static int parse_tcp(const char *hostport, struct lrpc__addr *addr)
{
	const char *colon = strrchr(hostport, ':'), *host = hostport, *p;
	size_t hlen;
	long port;
	char *end;

	if (!colon || !colon[1])
		return -EINVAL;
	hlen = (size_t)(colon - hostport);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	} else if (memchr(host, ':', hlen) || memchr(host, '[', hlen)) {
		return -EINVAL;
	}
	if (hlen == 0 || hlen >= sizeof(addr->host))
		return -EINVAL;
	for (p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || port < 0 || port > 65535 || end - colon - 1 > 5)
		return -EINVAL;
	memcpy(addr->host, host, hlen);
	addr->host[hlen] = '\0';
	snprintf(addr->port, sizeof(addr->port), "%ld", port);
	return 0;
}

int lrpc__uri_parse(const char *uri, struct lrpc__addr *addr)
{
	static const struct {
		const char *prefix;
		enum lrpc__scheme scheme;
		int (*parse)(const char *rest, struct lrpc__addr *addr);
	} schemes[] = {
		{ "lrpc://", LRPC__SCHEME_LRPC, parse_lrpc },
		{ "unix://", LRPC__SCHEME_UNIX, parse_unix },
		{ "tcp://", LRPC__SCHEME_TCP, parse_tcp },
		{ "grpc://", LRPC__SCHEME_GRPC, parse_tcp },
		{ "grpcs://", LRPC__SCHEME_GRPCS, parse_tcp },
		{ "grpc+unix://", LRPC__SCHEME_GRPC_UNIX, parse_unix },
	};

	if (!uri || !addr)
		return -EINVAL;
	memset(addr, 0, sizeof(*addr));
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].prefix);

		if (strncmp(uri, schemes[i].prefix, n) == 0) {
			addr->scheme = schemes[i].scheme;
			return schemes[i].parse(uri + n, addr);
		}
	}
	return strstr(uri, "://") ? -EPROTONOSUPPORT : -EINVAL;
}
