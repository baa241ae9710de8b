// SPDX-License-Identifier: MIT
/*
 * A lane written by a hostile lrpc:// client: the input chooses a call's
 * metadata and request bytes on lane 0 of a real server's region, and the
 * call is made with the futex hand-off. Input: a flags byte, then
 *   bit 0  method id: the next 4 bytes (else Echo)
 *   bit 1  request length: the next 4 bytes, whatever the buffer holds
 *          (else the rest of the input, cut to the buffer)
 *   bit 2  deadline: the next 8 bytes, raw (else a second from now)
 *   bit 3  request metadata length: the next 4 bytes; the block is what
 *          the buffer holds after the request (without bit 1 the request
 *          is the input's rest less that many bytes)
 * and the request bytes (then the metadata block). Invariants:
 *  - every call is handed back, with its seq, a status code below
 *    LRPC_CODE_COUNT and a reply length within the buffer;
 *  - an Echo request that protobuf-c decodes, with a deadline ahead, is
 *    answered OK (but for documented refusals: INVALID_ARGUMENT where the
 *    single-pass decoder is stricter, RESOURCE_EXHAUSTED for a big reply),
 *    and an OK reply decodes and echoes seq and payload;
 *  - the server answers an Echo call on a channel of its own afterwards.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "probe.lrpc.h"

static struct fz_lane *lane;
static lrpc_channel *probe_ch;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char name[64], dir[200], uri[128], ctl[300];

	(void)argc, (void)argv;
	signal(SIGPIPE, SIG_IGN);
	snprintf(name, sizeof(name), "fuzz-lane-%d", (int)getpid());
	snprintf(uri, sizeof(uri), "lrpc://%s", name);
	fz_server(uri, false, 4096, 2);
	if (lrpc_runtime_dir(dir, sizeof(dir)) < 0)
		fz_die("no runtime directory");
	snprintf(ctl, sizeof(ctl), "%s/%s", dir, name);
	lane = fz_lane_connect(ctl);
	probe_ch = fz_channel(uri);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t seq;
	struct fz_lane_meta call = { .method_or_code = LRPCTEST__PROBE__ECHO__ID },
			    reply;
	size_t cap = fz_lane_buf_size(lane), body;
	unsigned char *buf = fz_lane_buf(lane);
	Lrpctest__EchoMsg *req, *rep;
	uint8_t flags;
	bool echo;
	int ret;

	if (!fz_take(&data, &size, &flags, 1))
		return 0;
	call.deadline = lrpc_deadline_after_ms(1000);
	if ((flags & 1) && !fz_take(&data, &size, &call.method_or_code, 4))
		return 0;
	if ((flags & 2) && !fz_take(&data, &size, &call.len, 4))
		return 0;
	if ((flags & 4) && !fz_take(&data, &size, &call.deadline, 8))
		return 0;
	if ((flags & 8) && !fz_take(&data, &size, &call.md_len, 4))
		return 0;
	body = size < cap ? size : cap;
	if (!(flags & 2))
		call.len = (uint32_t)(body > call.md_len ? body - call.md_len : 0);
	memcpy(buf, data, body);
	call.seq = ++seq;
	/* What the request is, judged before the server may overwrite the
	 * buffer with its reply. */
	echo = call.method_or_code == LRPCTEST__PROBE__ECHO__ID &&
	       call.len <= cap && call.deadline > lrpc_now() + 100000000;
	req = echo ? lrpctest__echo_msg__unpack(NULL, call.len, buf) : NULL;

	ret = fz_lane_call(lane, &call, lrpc_deadline_after_ms(FZ_HANG_MS),
			   &reply);
	if (ret)
		fz_die("lane call: %s", strerror(-ret));
	if (reply.seq != call.seq || reply.method_or_code >= LRPC_CODE_COUNT ||
	    reply.len > cap)
		fz_die("reply seq %llu (call %llu), code %u, length %u",
		       (unsigned long long)reply.seq,
		       (unsigned long long)call.seq, reply.method_or_code,
		       reply.len);
	if (reply.method_or_code != LRPC_OK && reply.len)
		fz_die("a failed call with %u reply bytes", reply.len);
	if (req && reply.method_or_code != LRPC_OK &&
	    reply.method_or_code != LRPC_INVALID_ARGUMENT &&
	    reply.method_or_code != LRPC_RESOURCE_EXHAUSTED)
		fz_die("a good Echo call failed with %s",
		       lrpc_code_name((lrpc_code)reply.method_or_code));
	if (req && reply.method_or_code == LRPC_OK) {
		rep = lrpctest__echo_msg__unpack(NULL, reply.len, buf);
		if (!rep || rep->seq != req->seq ||
		    (!req->reply_size &&
		     (rep->payload.len != req->payload.len ||
		      (rep->payload.len && memcmp(rep->payload.data,
						  req->payload.data,
						  rep->payload.len)))))
			fz_die("the Echo reply does not echo");
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	}
	if (req)
		lrpctest__echo_msg__free_unpacked(req, NULL);
	fz_probe(probe_ch, "lane");
	return 0;
}
