/* SPDX-License-Identifier: MIT */
/*
 * The server's side of a stream on an lrpc:// lane (lane_stream.c): the
 * receiver that took a call with LRPC__CALL_STREAM answers it at once and
 * runs the stream's handler over the lane's rings (wire/lane_ring.h).
 */
#ifndef LRPC_LANE_STREAM_H
#define LRPC_LANE_STREAM_H

#include "serve/dispatch.h"
#include "serve/receiver.h"

/*
 * The receiver of \p r took a stream open (\p seq, \p deadline,
 * \p method_id, \p flags, \p md_len, each read once; LRPC__CALL_STREAM_MD
 * in \p flags: with metadata, wire/lane.h). Serve the stream until its
 * handler returns and write its end. \return true when done so (the call is
 * answered); false when the open is refused: \p rep says why, for the
 * caller to write as the call's reply.
 */
bool lrpc__lane_stream_serve(struct lrpc__receivers *rs, struct lrpc__hrecv *r,
			     struct lrpc__arena *arena, uint64_t seq,
			     lrpc_deadline deadline, uint32_t method_id,
			     uint32_t flags, uint32_t md_len,
			     struct lrpc__reply *rep);

#endif
