// SPDX-License-Identifier: MIT
/*
 * Asynchronous calls over unix:// against a fake server that answers
 * with frames written byte by byte: a reply for a call id never sent, a
 * bad header, or one too large fails the connection's calls (INTERNAL)
 * and nothing else; a good reply on the next connection is taken. Calls
 * with metadata: a reply whose response metadata lengths run past its
 * body fails INTERNAL; a server before 0.5.0, which refuses the frame
 * unread, is named as the cause; a good reply's header block is taken.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "rawframe.h"

struct result {
	int calls;
	lrpc_code code;
	char rep[16];
	size_t len;
};

static void on_raw(void *arg, lrpc_code code, const void *rep, size_t len,
		   const lrpc_status *st, lrpc_async *h)
{
	struct result *r = arg;

	(void)st, (void)h;
	r->calls++;
	r->code = code;
	r->len = len < sizeof(r->rep) ? len : sizeof(r->rep);
	if (rep)
		memcpy(r->rep, rep, r->len);
}

static int listen_at(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(l, 0);
	ck_assert_uint_lt(strlen(path), sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 8), 0);
	return l;
}

static int accept_one(int l)
{
	struct pollfd p = { .fd = l, .events = POLLIN };
	int fd;

	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Read one request frame (header and \p body_len bytes). \return its id. */
static uint64_t read_request(int fd, uint32_t body_len)
{
	unsigned char h[RAW_HDR], body[64];

	ck_assert(raw_read_n(fd, h, RAW_HDR));
	ck_assert_uint_eq(raw_get32(h + 4), body_len);
	ck_assert(raw_read_n(fd, body, body_len));
	return raw_get64(h + 8);
}

static void reply(int fd, uint32_t magic, uint32_t body_len, uint64_t id,
		  const void *body, size_t n)
{
	unsigned char f[RAW_HDR + 16] = { 0 };

	raw_put32(f, magic);
	raw_put32(f + 4, body_len);
	raw_put64(f + 8, id);
	memcpy(f + RAW_HDR, body, n);
	ck_assert_int_eq(write(fd, f, RAW_HDR + n), (ssize_t)(RAW_HDR + n));
}

/* One call on a new async connection, answered by \p answer. */
static struct result one_call(lrpc_channel *ch, lrpc_cq *cq, int l,
			      void (*answer)(int fd, uint64_t id))
{
	struct result r = { 0 };
	int k;

	ck_assert_int_eq(lrpc_channel_call_raw_async(ch, 7, "ab", 2,
						     lrpc_deadline_after_ms(10000),
						     cq, on_raw, &r, NULL), 0);
	k = accept_one(l);
	answer(k, read_request(k, 2));
	while (!r.calls)
		ck_assert_int_ge(lrpc_cq_run(cq, lrpc_deadline_after_ms(10000), 0), 0);
	close(k);
	return r;
}

static void unknown_id(int fd, uint64_t id)
{
	reply(fd, RAW_MAGIC, 2, id + 1, "xy", 2);
}

static void bad_magic(int fd, uint64_t id)
{
	reply(fd, 0x12345678u, 2, id, "xy", 2);
}

static void too_large(int fd, uint64_t id)
{
	reply(fd, RAW_MAGIC, 0x7fffffffu, id, "xy", 2);
}

static void good(int fd, uint64_t id)
{
	reply(fd, RAW_MAGIC, 2, id, "xy", 2);
}

START_TEST(bad_replies_fail_their_connection_only)
{
	char path[256], uri[300];
	lrpc_channel *ch;
	lrpc_cq *cq;
	struct result r;
	int l, first;

	snprintf(path, sizeof(path), "%s/fake.sock", h_dir_setup());
	snprintf(uri, sizeof(uri), "unix://%s", path);
	l = listen_at(path);
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	first = accept_one(l); /* the synchronous pool's first connection */
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);

	r = one_call(ch, cq, l, unknown_id);
	ck_assert_int_eq(r.code, LRPC_INTERNAL);
	r = one_call(ch, cq, l, bad_magic);
	ck_assert_int_eq(r.code, LRPC_INTERNAL);
	r = one_call(ch, cq, l, too_large);
	ck_assert_int_eq(r.code, LRPC_INTERNAL);
	r = one_call(ch, cq, l, good);
	ck_assert_int_eq(r.code, LRPC_OK);
	ck_assert_uint_eq(r.len, 2);
	ck_assert(!memcmp(r.rep, "xy", 2));

	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	lrpc_channel_close(ch);
	close(first);
	close(l);
}
END_TEST

/* A reply frame written field by field: \p body of \p n bytes, its first
 * \p msg_len the status message, with response metadata lengths \p hl and
 * \p tl in timeout_ns. */
static void reply_md(int fd, uint64_t id, uint32_t code, uint32_t msg_len,
		     const void *body, size_t n, uint32_t hl, uint32_t tl)
{
	unsigned char f[RAW_HDR + 64] = { 0 };

	ck_assert_uint_le(n, 64);
	raw_put32(f, RAW_MAGIC);
	raw_put32(f + 4, (uint32_t)n);
	raw_put64(f + 8, id);
	raw_put32(f + 16, code);
	raw_put32(f + 20, msg_len);
	raw_put32(f + 24, hl);
	raw_put32(f + 28, tl);
	memcpy(f + RAW_HDR, body, n);
	ck_assert_int_eq(write(fd, f, RAW_HDR + n), (ssize_t)(RAW_HDR + n));
}

struct md_result {
	int calls;
	lrpc_code code;
	char msg[LRPC_STATUS_MSG_MAX];
};

static void on_md(void *arg, lrpc_code code, ProtobufCMessage *rep,
		  const lrpc_status *st, lrpc_async *h)
{
	struct md_result *r = arg;

	(void)h;
	r->calls++;
	r->code = code;
	snprintf(r->msg, sizeof(r->msg), "%s", st->message);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
}

/* One Echo call with metadata and lists on a new async connection;
 * \p kind: 0 lengths past the body, 1 an old server's refusal, 2 a good
 * reply with one header "x-h: v". */
static struct md_result md_call(lrpc_channel *ch, lrpc_cq *cq, int l, int kind,
				lrpc_metadata_list *headers)
{
	static const lrpc_metadata md = { "x-trace", "t", 1 };
	/* u32 value_len, u8 key_len, key, value (wire/md_block.h) */
	static const unsigned char good_body[] = { 1, 0, 0, 0, 3, 'x', '-', 'h', 'v' };
	lrpc_call_opts o = { .metadata = &md, .n_metadata = 1, .headers = headers };
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;
	struct md_result r = { 0 };
	unsigned char h[RAW_HDR], body[256];
	uint64_t id;
	int k;

	req.seq = 1;
	ck_assert_int_eq(lrpc_channel_call_async_opts(ch,
						      &lrpctest__probe__service_desc.methods[0],
						      &req.base, lrpc_deadline_after_ms(10000),
						      &o, cq, on_md, &r, NULL), 0);
	k = accept_one(l);
	ck_assert(raw_read_n(k, h, RAW_HDR));
	/* The metadata flag, and the block after the payload. */
	ck_assert(raw_get32(h + 20) & 0x80000000u);
	ck_assert_uint_le(raw_get32(h + 4), sizeof(body));
	ck_assert(raw_read_n(k, body, raw_get32(h + 4)));
	id = raw_get64(h + 8);
	if (kind == 0)
		reply_md(k, id, LRPC_OK, 0, "xy", 2, 100, 0);
	else if (kind == 1)
		reply_md(k, 0, LRPC_INVALID_ARGUMENT, 9, "malformed", 9, 0, 0);
	else
		reply_md(k, id, LRPC_OK, 0, good_body, sizeof(good_body), sizeof(good_body), 0);
	while (!r.calls)
		ck_assert_int_ge(lrpc_cq_run(cq, lrpc_deadline_after_ms(10000), 0), 0);
	close(k);
	return r;
}

START_TEST(metadata_replies_are_checked)
{
	char path[256], uri[300];
	lrpc_metadata_list *headers;
	const lrpc_metadata *e;
	struct md_result r;
	lrpc_channel *ch;
	lrpc_cq *cq;
	int l, first;

	snprintf(path, sizeof(path), "%s/fake.sock", h_dir_setup());
	snprintf(uri, sizeof(uri), "unix://%s", path);
	l = listen_at(path);
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	first = accept_one(l);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	ck_assert_int_eq(lrpc_metadata_list_new(&headers), 0);

	r = md_call(ch, cq, l, 0, headers);
	ck_assert_int_eq(r.code, LRPC_INTERNAL);
	ck_assert_msg(strstr(r.msg, "response metadata"), "%s", r.msg);
	r = md_call(ch, cq, l, 1, headers);
	ck_assert_int_eq(r.code, LRPC_INVALID_ARGUMENT);
	ck_assert_msg(strstr(r.msg, "before 0.5.0"), "%s", r.msg);
	ck_assert_uint_eq(lrpc_metadata_list_get(headers, NULL), 0);
	r = md_call(ch, cq, l, 2, headers);
	ck_assert_msg(r.code == LRPC_OK, "%s", r.msg);
	e = lrpc_metadata_list_find(headers, "x-h");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->value_len, 1);
	ck_assert(!memcmp(e->value, "v", 1));

	lrpc_metadata_list_free(headers);
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	lrpc_channel_close(ch);
	close(first);
	close(l);
}
END_TEST

H_MAIN("async_hostile", 60, bad_replies_fail_their_connection_only,
       metadata_replies_are_checked)
