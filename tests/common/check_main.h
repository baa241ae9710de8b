/* SPDX-License-Identifier: MIT */
/*
 * One main() for every Check test program: the listed tests form one test
 * case, each run in its own process with a timeout; the exit status is 0
 * when all passed, 1 otherwise (77, SKIP, is the program's own to return).
 */
#ifndef LRPC_TEST_CHECK_MAIN_H
#define LRPC_TEST_CHECK_MAIN_H

#include <check.h>

static inline int check_run(const char *name, const TTest *const tests[],
			    int ntests, int timeout_s)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, timeout_s);
	for (int i = 0; i < ntests; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#define CHECK_MAIN(name, timeout_s, ...)                                   \
	int main(void)                                                      \
	{                                                                   \
		const TTest *const t[] = { __VA_ARGS__ };                   \
		return check_run(name, t, (int)(sizeof(t) / sizeof(t[0])),  \
				 timeout_s);                                \
	}

#endif
