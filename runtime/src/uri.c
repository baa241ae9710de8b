// SPDX-License-Identifier: MIT
/* Names: "lrpc://NAME" and the runtime directory NAME lives in. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

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

int lrpc__uri_parse(const char *uri, enum lrpc__scheme *scheme, char *path,
		    size_t path_len)
{
	static const char lrpc_prefix[] = "lrpc://";
	char dir[4096];
	const char *name;
	int ret, n;

	if (!uri)
		return -EINVAL;
	if (strncmp(uri, lrpc_prefix, sizeof(lrpc_prefix) - 1) != 0)
		return strstr(uri, "://") ? -EPROTONOSUPPORT : -EINVAL;
	name = uri + sizeof(lrpc_prefix) - 1;
	if (!name_ok(name))
		return -EINVAL;
	ret = lrpc_runtime_dir(dir, sizeof(dir));
	if (ret < 0)
		return ret;
	n = snprintf(path, path_len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= path_len)
		return -ENAMETOOLONG;
	*scheme = LRPC__SCHEME_LRPC;
	return 0;
}
