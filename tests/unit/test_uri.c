// SPDX-License-Identifier: MIT
/* Names and the runtime directory. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "check_main.h"

START_TEST(runtime_dir_precedence)
{
	char buf[256], want[64];

	setenv("LAZYRPC_DIR", "/x/y", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
	ck_assert_int_eq(lrpc_runtime_dir(buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/x/y");
	unsetenv("LAZYRPC_DIR");
	ck_assert_int_eq(lrpc_runtime_dir(buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/run/user/7/lazyrpc");
	unsetenv("XDG_RUNTIME_DIR");
	ck_assert_int_eq(lrpc_runtime_dir(buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "/tmp/lazyrpc-%u", (unsigned int)getuid());
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(lrpc_runtime_dir(buf, 4), -ENAMETOOLONG);
}
END_TEST

START_TEST(lrpc_uri_resolves_in_runtime_dir)
{
	struct lrpc__addr a;

	setenv("LAZYRPC_DIR", "/d", 1);
	ck_assert_int_eq(lrpc__uri_parse("lrpc://greeter", &a), 0);
	ck_assert_int_eq(a.scheme, LRPC__SCHEME_LRPC);
	ck_assert_str_eq(a.path, "/d/greeter");
	ck_assert_int_eq(lrpc__uri_parse("lrpc://a.b-c_9", &a), 0);
}
END_TEST

START_TEST(socket_uris)
{
	struct lrpc__addr a;

	ck_assert_int_eq(lrpc__uri_parse("unix:///run/x.sock", &a), 0);
	ck_assert_int_eq(a.scheme, LRPC__SCHEME_UNIX);
	ck_assert_str_eq(a.path, "/run/x.sock");
	ck_assert_int_eq(lrpc__uri_parse("tcp://127.0.0.1:8080", &a), 0);
	ck_assert_int_eq(a.scheme, LRPC__SCHEME_TCP);
	ck_assert_str_eq(a.host, "127.0.0.1");
	ck_assert_str_eq(a.port, "8080");
	ck_assert_int_eq(lrpc__uri_parse("tcp://[::1]:0", &a), 0);
	ck_assert_str_eq(a.host, "::1");
	ck_assert_str_eq(a.port, "0");
	ck_assert_int_eq(lrpc__uri_parse("tcp://localhost:65535", &a), 0);
	ck_assert_int_eq(lrpc__uri_parse("grpc+unix:///run/g.sock", &a), 0);
	ck_assert_int_eq(a.scheme, LRPC__SCHEME_GRPC_UNIX);
	ck_assert_str_eq(a.path, "/run/g.sock");
}
END_TEST

START_TEST(bad_uris_are_rejected)
{
	static const char *const bad[] = {
		"lrpc://", "lrpc://../etc", "lrpc://a/b", "lrpc://.hidden",
		"lrpc://sp ace", "greeter", "",
		"lrpc://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"unix://", "tcp://", "tcp://host", "tcp://host:", "tcp://:80",
		"tcp://host:65536", "tcp://host:-1", "tcp://host:8x", "tcp://::1:80",
		"tcp://host:0000080", "grpc+unix://",
	};
	struct lrpc__addr a;
	char longpath[200];

	setenv("LAZYRPC_DIR", "/d", 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(lrpc__uri_parse(bad[i], &a) == -EINVAL,
			      "%s accepted", bad[i]);
	ck_assert_int_eq(lrpc__uri_parse(NULL, &a), -EINVAL);
	ck_assert_int_eq(lrpc__uri_parse("http://x", &a), -EPROTONOSUPPORT);
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "unix://", 7);
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(lrpc__uri_parse(longpath, &a), -ENAMETOOLONG);
	setenv("LAZYRPC_DIR", longpath, 1);
	ck_assert_int_eq(lrpc__uri_parse("lrpc://greeter", &a), -ENAMETOOLONG);
}
END_TEST

CHECK_MAIN("uri", 30,
	   runtime_dir_precedence,
	   lrpc_uri_resolves_in_runtime_dir,
	   socket_uris,
	   bad_uris_are_rejected)
