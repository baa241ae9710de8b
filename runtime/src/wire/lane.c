// SPDX-License-Identifier: MIT
#include <errno.h>

#include "wire/lane.h"
#include "core/internal.h"

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

int lrpc__geom_init(struct lrpc__geom *g, uint32_t nlanes, uint64_t buf_size)
{
	if (nlanes == 0 || nlanes > LRPC__MAX_LANES || buf_size == 0 ||
	    buf_size > LRPC_MAX_MSG_LIMIT)
		return -EINVAL;
	g->nlanes = nlanes;
	g->buf_size = buf_size;
	g->lane_stride = LRPC__LANE_HDR_SIZE + round_up(buf_size, LRPC__PAGE);
	g->region_size = g->lane_stride * nlanes;
	return 0;
}

int lrpc__geom_check(const struct lrpc__geom *g)
{
	struct lrpc__geom want;

	if (lrpc__geom_init(&want, g->nlanes, g->buf_size) < 0 ||
	    want.lane_stride != g->lane_stride ||
	    want.region_size != g->region_size)
		return -EPROTO;
	return 0;
}
