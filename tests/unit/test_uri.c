// SPDX-License-Identifier: MIT
/* Names and the runtime directory. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

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
	enum lrpc__scheme s;
	char path[256];

	setenv("LAZYRPC_DIR", "/d", 1);
	ck_assert_int_eq(lrpc__uri_parse("lrpc://greeter", &s, path, sizeof(path)), 0);
	ck_assert_int_eq(s, LRPC__SCHEME_LRPC);
	ck_assert_str_eq(path, "/d/greeter");
	ck_assert_int_eq(lrpc__uri_parse("lrpc://a.b-c_9", &s, path, sizeof(path)), 0);
}
END_TEST

START_TEST(bad_uris_are_rejected)
{
	static const char *const bad[] = {
		"lrpc://", "lrpc://../etc", "lrpc://a/b", "lrpc://.hidden",
		"lrpc://sp ace", "greeter", "",
		"lrpc://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	enum lrpc__scheme s;
	char path[256];

	setenv("LAZYRPC_DIR", "/d", 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(lrpc__uri_parse(bad[i], &s, path, sizeof(path)) == -EINVAL,
			      "%s accepted", bad[i]);
	ck_assert_int_eq(lrpc__uri_parse(NULL, &s, path, sizeof(path)), -EINVAL);
	ck_assert_int_eq(lrpc__uri_parse("http://x", &s, path, sizeof(path)),
			 -EPROTONOSUPPORT);
	ck_assert_int_eq(lrpc__uri_parse("lrpc://greeter", &s, path, 5), -ENAMETOOLONG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uri");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, runtime_dir_precedence);
	tcase_add_test(tc, lrpc_uri_resolves_in_runtime_dir);
	tcase_add_test(tc, bad_uris_are_rejected);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
