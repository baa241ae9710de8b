/* SPDX-License-Identifier: MIT */
/*
 * The example's map, known to both sides: a 5 x 5 grid of points 0.1
 * degrees apart (E7 units, as route_guide.proto wants) near New York;
 * the points whose row and column add up to an even number are features
 * named "Grid R,C", the others are unnamed. The client uses it to know
 * what answers to expect.
 */
#ifndef ROUTE_GUIDE_GRID_H
#define ROUTE_GUIDE_GRID_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define GRID_N 5
#define GRID_LAT0 407000000
#define GRID_LON0 -740000000
#define GRID_STEP 1000000 /* 0.1 degree */

static inline int32_t grid_lat(int row)
{
	return GRID_LAT0 + row * GRID_STEP;
}

static inline int32_t grid_lon(int col)
{
	return GRID_LON0 - col * GRID_STEP;
}

/* Is there a feature at (lat, lon)? Its name goes to \p name. */
static inline bool grid_feature(int32_t lat, int32_t lon, char *name, size_t len)
{
	int64_t dr = (int64_t)lat - GRID_LAT0, dc = (int64_t)GRID_LON0 - lon;

	if (dr < 0 || dc < 0 || dr % GRID_STEP || dc % GRID_STEP)
		return false;
	dr /= GRID_STEP;
	dc /= GRID_STEP;
	if (dr >= GRID_N || dc >= GRID_N || (dr + dc) % 2)
		return false;
	snprintf(name, len, "Grid %d,%d", (int)dr, (int)dc);
	return true;
}

#endif
