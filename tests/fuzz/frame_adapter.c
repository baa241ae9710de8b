// SPDX-License-Identifier: MIT
/* The socket frame layout for the frames fuzzer (fuzz.h). */
#include "fuzz.h"
#include "wire/frame.h"

const size_t fz_frame_hdr = LRPC__FRAME_HDR;

void fz_frame_put(unsigned char *hdr, const struct fz_frame *f)
{
	struct lrpc__frame lf = {
		.kind = (enum lrpc__frame_kind)f->kind,
		.body_len = f->body_len,
		.call_id = f->call_id,
		.method_or_code = f->method_or_code,
		.msg_len = f->msg_len,
		.timeout_ns = f->timeout_ns,
	};

	lrpc__frame_put(hdr, &lf);
}

int fz_frame_get(const unsigned char *hdr, size_t max_body,
		 struct fz_frame *f)
{
	struct lrpc__frame lf = { 0 };
	int ret = lrpc__frame_get(hdr, max_body, &lf);

	f->kind = (char)lf.kind;
	f->body_len = lf.body_len;
	f->call_id = lf.call_id;
	f->method_or_code = lf.method_or_code;
	f->msg_len = lf.msg_len;
	f->timeout_ns = lf.timeout_ns;
	return ret;
}
