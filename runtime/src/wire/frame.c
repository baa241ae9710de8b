// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "wire/frame.h"
#include "wire/md_block.h"
#include "core/internal.h"

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void lrpc__frame_put(unsigned char *hdr, const struct lrpc__frame *f)
{
	put32(hdr, f->kind == LRPC__FRAME_CALL ? LRPC__FRAME_MAGIC :
		   LRPC__STREAM_MAGIC | (uint32_t)f->kind << 24);
	put32(hdr + 4, f->body_len);
	put64(hdr + 8, f->call_id);
	put32(hdr + 16, f->method_or_code);
	put32(hdr + 20, (f->kind == LRPC__FRAME_CALL || f->kind == LRPC__FRAME_OPEN) && f->call_md ?
				LRPC__FRAME_CALL_MD | f->md_len : f->msg_len);
	put64(hdr + 24, (uint64_t)f->timeout_ns);
}

/* An END's body is its status message and the two blocks timeout_ns
 * gives the lengths of (both 0 unless its OPEN had the flag). */
static bool end_md_bad(const struct lrpc__frame *f)
{
	uint64_t v = (uint64_t)f->timeout_ns;
	uint64_t hl = (uint32_t)v, tl = v >> 32;

	return hl > LRPC__MD_BLOCK_MAX || tl > LRPC__MD_BLOCK_MAX ||
	       f->msg_len + hl + tl != f->body_len;
}

/* The fields a stream frame of its kind may use are consistent. */
static int stream_check(const struct lrpc__frame *f)
{
	bool body = f->body_len != 0, code = f->method_or_code != 0;
	bool msg = f->msg_len != 0, time = f->timeout_ns != 0;

	if (f->call_id == 0)
		return -EPROTO;
	switch (f->kind) {
	case LRPC__FRAME_OPEN: /* a body: only its request metadata */
		return (body && !(f->call_md && f->md_len == f->body_len)) || msg ?
			       -EPROTO : 0;
	case LRPC__FRAME_MSG:
		return code || msg || time ? -EPROTO : 0;
	case LRPC__FRAME_HALF_CLOSE:
	case LRPC__FRAME_CANCEL:
		return body || code || msg || time ? -EPROTO : 0;
	case LRPC__FRAME_END: /* the status message, then any response metadata */
		return f->method_or_code >= 1u << 16 || end_md_bad(f) ? -EPROTO : 0;
	case LRPC__FRAME_WINDOW:
		return body || msg || f->method_or_code > 1u << 16 ||
		       f->timeout_ns < 0 || f->timeout_ns > (int64_t)1 << 32 ?
			       -EPROTO : 0;
	default:
		return -EPROTO;
	}
}

int lrpc__frame_get(const unsigned char *hdr, size_t max_body,
		    struct lrpc__frame *f)
{
	uint32_t magic = get32(hdr);

	if (magic == LRPC__FRAME_MAGIC)
		f->kind = LRPC__FRAME_CALL;
	else if ((magic & 0xffffffu) == LRPC__STREAM_MAGIC)
		f->kind = (enum lrpc__frame_kind)(magic >> 24);
	else
		return -EPROTO;
	f->body_len = get32(hdr + 4);
	f->call_id = get64(hdr + 8);
	f->method_or_code = get32(hdr + 16);
	f->msg_len = get32(hdr + 20);
	f->timeout_ns = (int64_t)get64(hdr + 24);
	f->call_md = (f->kind == LRPC__FRAME_CALL || f->kind == LRPC__FRAME_OPEN) &&
		     (f->msg_len & LRPC__FRAME_CALL_MD);
	f->md_len = 0;
	if (f->call_md) {
		f->md_len = f->msg_len & ~LRPC__FRAME_CALL_MD;
		f->msg_len = 0;
		if (f->md_len > LRPC__MD_BLOCK_MAX || f->md_len > f->body_len)
			return -EPROTO;
	}
	if (f->msg_len > f->body_len || f->msg_len >= LRPC_STATUS_MSG_MAX)
		return -EPROTO;
	if (f->kind != LRPC__FRAME_CALL && stream_check(f) < 0)
		return -EPROTO;
	if (f->body_len > max_body)
		return -EMSGSIZE;
	return 0;
}

int lrpc__frame_get_request(const unsigned char *hdr, size_t max_msg,
			    struct lrpc__frame *f)
{
	int ret = lrpc__frame_get(hdr, max_msg + LRPC__MD_BLOCK_MAX, f);

	if (ret == 0 && f->body_len - f->md_len > max_msg)
		return -EMSGSIZE;
	return ret;
}

int lrpc__frame_reply_md(const struct lrpc__frame *f, uint32_t *hdr_len,
			 uint32_t *trl_len)
{
	uint64_t v = (uint64_t)f->timeout_ns;
	uint32_t hl = (uint32_t)v, tl = (uint32_t)(v >> 32);

	*hdr_len = *trl_len = 0;
	/* msg_len <= body_len: lrpc__frame_get checked it. */
	if ((f->kind != LRPC__FRAME_CALL && f->kind != LRPC__FRAME_END) || f->call_md ||
	    hl > LRPC__MD_BLOCK_MAX ||
	    tl > LRPC__MD_BLOCK_MAX ||
	    (uint64_t)hl + tl > f->body_len - f->msg_len)
		return -EPROTO;
	*hdr_len = hl;
	*trl_len = tl;
	return 0;
}
