/* SPDX-License-Identifier: MIT */
/* test_streams.c's test cases, run by test_stubs.c's main. */
#ifndef RPCGEN_TEST_STREAMS_H
#define RPCGEN_TEST_STREAMS_H

#include <check.h>

void add_stream_tests(Suite *s);

#endif
