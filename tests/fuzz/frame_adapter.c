// SPDX-License-Identifier: MIT
/* The socket frame layout for the frames fuzzer (fuzz.h). */
#include "fuzz.h"
#include "transport/sock_md.h"
#include "wire/frame.h"

const size_t fz_frame_hdr = LRPC__FRAME_HDR;
const size_t fz_frame_md_max = 2 * LRPC__MD_BLOCK_MAX;

void fz_frame_put(unsigned char *hdr, const struct fz_frame *f)
{
	struct lrpc__frame lf = {
		.kind = (enum lrpc__frame_kind)f->kind,
		.body_len = f->body_len,
		.call_id = f->call_id,
		.method_or_code = f->method_or_code,
		.msg_len = f->msg_len,
		.timeout_ns = f->timeout_ns,
		.call_md = f->call_md,
		.md_len = f->md_len,
	};

	lrpc__frame_put(hdr, &lf);
}

static void from_lrpc(const struct lrpc__frame *lf, struct fz_frame *f)
{
	f->kind = (char)lf->kind;
	f->body_len = lf->body_len;
	f->call_id = lf->call_id;
	f->method_or_code = lf->method_or_code;
	f->msg_len = lf->msg_len;
	f->timeout_ns = lf->timeout_ns;
	f->call_md = lf->call_md;
	f->md_len = lf->md_len;
}

/* Either reader, its answer in fuzz.h's terms. */
static int get(const unsigned char *hdr, size_t max, bool request,
	       struct fz_frame *f)
{
	struct lrpc__frame lf = { 0 };
	int ret = request ? lrpc__frame_get_request(hdr, max, &lf) :
			    lrpc__frame_get(hdr, max, &lf);

	from_lrpc(&lf, f);
	return ret;
}

int fz_frame_get_request(const unsigned char *hdr, size_t max_msg,
			 struct fz_frame *f)
{
	return get(hdr, max_msg, true, f);
}

int fz_reply_md(const unsigned char *frame, size_t len)
{
	struct lrpc__frame f = { 0 };
	lrpc_metadata_list *h = NULL, *t = NULL;
	size_t payload;
	int ret = -1;

	if (len < LRPC__FRAME_HDR ||
	    lrpc__frame_get(frame, len - LRPC__FRAME_HDR, &f) < 0)
		return -1;
	if (lrpc_metadata_list_new(&h) || lrpc_metadata_list_new(&t))
		fz_die("no memory for metadata lists");
	if (lrpc__sock_md_take_reply(&f, frame + LRPC__FRAME_HDR, h, t,
				     &payload, NULL) == LRPC_OK) {
		if (payload > f.body_len - f.msg_len)
			fz_die("a reply payload of %zu bytes in a %u-byte body",
			       payload, f.body_len);
		ret = 0;
	}
	lrpc_metadata_list_free(h);
	lrpc_metadata_list_free(t);
	return ret;
}

int fz_frame_get(const unsigned char *hdr, size_t max_body,
		 struct fz_frame *f)
{
	return get(hdr, max_body, false, f);
}
