/* SPDX-License-Identifier: MIT */
/*
 * Socket frames written byte by byte, so that tests do not share the
 * runtime's encoder: connect to a unix:// or tcp:// URI, write request
 * headers, read replies.
 */
#ifndef LRPC_TEST_RAWFRAME_H
#define LRPC_TEST_RAWFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAW_MAGIC 0x3146524cu /* "LRF1" */
#define RAW_HDR 32

void raw_put32(unsigned char *p, uint32_t v);
void raw_put64(unsigned char *p, uint64_t v);
uint32_t raw_get32(const unsigned char *p);
uint64_t raw_get64(const unsigned char *p);

/* A request header: magic, body length, call id, method, 0, 5 s left. */
void raw_header(unsigned char *h, uint32_t body, uint64_t id, uint32_t method);

/* Connect to "unix://PATH" or "tcp://HOST:PORT"; fails the test if refused. */
int raw_connect(const char *uri);

/* Read exactly n bytes, failing the test after 10 s. \return false at EOF. */
bool raw_read_n(int fd, unsigned char *buf, size_t n);

/* Read one reply frame; its code, call id and body (at most cap bytes, the
 * test fails beyond). \return false at EOF before a header. */
bool raw_reply(int fd, uint32_t *code, uint64_t *id, unsigned char *body,
	       size_t cap, uint32_t *len);

/* Write one Echo request whose payload-less body is "seq = \p seq". */
void raw_echo(int fd, uint64_t id, uint8_t seq);

/* Descriptors the process \p pid holds now (from /proc/PID/fd), or -1 if
 * that is not readable. */
int raw_fd_count(int pid);

#endif
