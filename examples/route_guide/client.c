// SPDX-License-Identifier: MIT
/*
 * route-guide-client [URI]: calls each of the route guide's four methods
 * once on the map of grid.h, checks the answers and prints them.
 * Exits 0 when all four are right, 1 on any error, and 77 when the
 * transport does not carry streams yet (lrpc_stream_open() says
 * UNIMPLEMENTED before the server is asked), so that a test can SKIP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid.h"
#include "route_guide.lrpc.h"

#define DEADLINE_MS 5000

static int fail(const char *what, const lrpc_status *st)
{
	fprintf(stderr, "route-guide-client: %s: %s: %s\n", what, lrpc_code_name(st->code),
		st->message);
	return 1;
}

/* A stream that could not be opened: no streams over this transport, or an error. */
static int open_failed(const char *what, const lrpc_status *st)
{
	if (st->code == LRPC_UNIMPLEMENTED) {
		printf("route-guide-client: SKIP: %s: %s\n", what, st->message);
		return 77;
	}
	return fail(what, st);
}

static Routeguide__Point point(int row, int col)
{
	Routeguide__Point p = ROUTEGUIDE__POINT__INIT;

	p.latitude = grid_lat(row);
	p.longitude = grid_lon(col);
	return p;
}

static int get_feature(lrpc_channel *ch)
{
	Routeguide__Point at[2] = { point(2, 2), point(1, 2) };
	static const char *const want[2] = { "Grid 2,2", "" };

	for (int i = 0; i < 2; i++) {
		Routeguide__Feature *f;
		lrpc_status st;

		if (routeguide__route_guide__get_feature__call(ch, &at[i], &f,
				lrpc_deadline_after_ms(DEADLINE_MS), &st) != LRPC_OK)
			return fail("GetFeature", &st);
		if (strcmp(f->name, want[i]) != 0) {
			fprintf(stderr, "route-guide-client: GetFeature: '%s', not '%s'\n",
				f->name, want[i]);
			routeguide__feature__free_unpacked(f, NULL);
			return 1;
		}
		printf("GetFeature: '%s'\n", f->name);
		routeguide__feature__free_unpacked(f, NULL);
	}
	return 0;
}

/* The 3 x 3 corner holds 5 features: (0,0) (0,2) (1,1) (2,0) (2,2). */
static int list_features(lrpc_channel *ch)
{
	Routeguide__Point lo = point(0, 0), hi = point(2, 2);
	Routeguide__Rectangle rect = ROUTEGUIDE__RECTANGLE__INIT;
	Routeguide__Feature *f;
	lrpc_stream *s;
	lrpc_status st;
	lrpc_code code;
	int n = 0;

	rect.lo = &lo;
	rect.hi = &hi;
	if (routeguide__route_guide__list_features__open(ch, &rect,
			lrpc_deadline_after_ms(DEADLINE_MS), &s, &st) != LRPC_OK)
		return open_failed("ListFeatures", &st);
	while ((code = routeguide__route_guide__list_features__read(s, &f, &st)) == LRPC_OK &&
	       f) {
		char name[32];

		if (!f->location ||
		    !grid_feature(f->location->latitude, f->location->longitude, name,
				  sizeof(name)) ||
		    strcmp(name, f->name) != 0) {
			fprintf(stderr, "route-guide-client: ListFeatures: bad feature '%s'\n",
				f->name);
			lrpc_stream_free(s);
			return 1;
		}
		n++;
	}
	lrpc_stream_free(s);
	if (code != LRPC_OK)
		return fail("ListFeatures", &st);
	printf("ListFeatures: %d features\n", n);
	return n == 5 ? 0 : 1;
}

/* Along row 0 then down the diagonal: 4 points, 3 of them features. */
static int record_route(lrpc_channel *ch)
{
	Routeguide__Point route[4] = { point(0, 0), point(0, 1), point(1, 1), point(2, 2) };
	Routeguide__RouteSummary *sum;
	lrpc_stream *s;
	lrpc_status st;
	int ok;

	if (routeguide__route_guide__record_route__open(ch, lrpc_deadline_after_ms(DEADLINE_MS),
							&s, &st) != LRPC_OK)
		return open_failed("RecordRoute", &st);
	for (int i = 0; i < 4; i++) {
		if (routeguide__route_guide__record_route__write(s, &route[i], &st) != LRPC_OK) {
			lrpc_stream_free(s);
			return fail("RecordRoute", &st);
		}
	}
	if (routeguide__route_guide__record_route__close_and_recv(s, &sum, &st) != LRPC_OK) {
		lrpc_stream_free(s);
		return fail("RecordRoute", &st);
	}
	lrpc_stream_free(s);
	printf("RecordRoute: %d points, %d features, %d m\n", sum->point_count,
	       sum->feature_count, sum->distance);
	/* 0.1 degree of longitude at 40.7 N is about 8.4 km, of latitude 11.1 km. */
	ok = sum->point_count == 4 && sum->feature_count == 3 && sum->distance > 20000 &&
	     sum->distance < 60000;
	routeguide__route_summary__free_unpacked(sum, NULL);
	return ok ? 0 : 1;
}

/* Notes at A, B, A, B: the server answers the third with the first, the
 * fourth with the second. */
static int route_chat(lrpc_channel *ch)
{
	static const char *const text[4] = { "first", "second", "third", "fourth" };
	Routeguide__Point at[2] = { point(0, 0), point(4, 4) };
	char got[64] = "";
	Routeguide__RouteNote *in;
	lrpc_stream *s;
	lrpc_status st;
	lrpc_code code;
	int n = 0;

	if (routeguide__route_guide__route_chat__open(ch, lrpc_deadline_after_ms(DEADLINE_MS),
						      &s, &st) != LRPC_OK)
		return open_failed("RouteChat", &st);
	for (int i = 0; i < 4; i++) {
		Routeguide__RouteNote note = ROUTEGUIDE__ROUTE_NOTE__INIT;

		note.location = &at[i % 2];
		note.message = (char *)text[i];
		if (routeguide__route_guide__route_chat__write(s, &note, &st) != LRPC_OK) {
			lrpc_stream_free(s);
			return fail("RouteChat", &st);
		}
	}
	if (routeguide__route_guide__route_chat__close_send(s, &st) != LRPC_OK) {
		lrpc_stream_free(s);
		return fail("RouteChat", &st);
	}
	while ((code = routeguide__route_guide__route_chat__read(s, &in, &st)) == LRPC_OK && in) {
		size_t len = strlen(got);

		snprintf(got + len, sizeof(got) - len, "%s%s", n ? " " : "", in->message);
		n++;
	}
	lrpc_stream_free(s);
	if (code != LRPC_OK)
		return fail("RouteChat", &st);
	printf("RouteChat: %d notes back: %s\n", n, got);
	return strcmp(got, "first second") == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "lrpc://route_guide";
	int (*const steps[])(lrpc_channel *) = { get_feature, list_features, record_route,
						 route_chat };
	lrpc_channel *ch;
	int ret;

	ret = lrpc_channel_open(uri, NULL, &ch);
	if (ret < 0) {
		fprintf(stderr, "route-guide-client: %s: %s\n", uri, strerror(-ret));
		return 1;
	}
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && ret == 0; i++)
		ret = steps[i](ch);
	if (ret == 0)
		printf("route-guide-client: all four methods passed over %s\n", uri);
	lrpc_channel_close(ch);
	return ret;
}
