// SPDX-License-Identifier: MIT
/*
 * route-guide-server [URI]: gRPC's route guide in C, until SIGINT or
 * SIGTERM (its route_guide.proto is gRPC's, in tests/proto/grpc/). All
 * four kinds of method:
 *   GetFeature    unary: the feature at a point ("" if none)
 *   ListFeatures  server-streaming: every feature inside a rectangle
 *   RecordRoute   client-streaming: points in, one summary out
 *   RouteChat     bidirectional: each note gets back the notes sent
 *                 earlier in the same chat at the same point
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "grid.h"
#include "route_guide.lrpc.h"

/* Notes one RouteChat keeps: a chat that sends more is refused. */
#define CHAT_MAX_NOTES 1024

static lrpc_server *server;

static lrpc_code get_feature(void *user, lrpc_call *call, const Routeguide__Point *req,
			     Routeguide__Feature *reply)
{
	char name[32];

	(void)user;
	reply->location = lrpc_call_alloc(call, sizeof(*reply->location));
	if (!reply->location)
		return LRPC_RESOURCE_EXHAUSTED;
	routeguide__point__init(reply->location);
	reply->location->latitude = req->latitude;
	reply->location->longitude = req->longitude;
	reply->name = (char *)"";
	if (grid_feature(req->latitude, req->longitude, name, sizeof(name))) {
		reply->name = lrpc_call_strdup(call, name);
		if (!reply->name)
			return LRPC_RESOURCE_EXHAUSTED;
	}
	return LRPC_OK;
}

static bool inside(const Routeguide__Rectangle *r, int32_t lat, int32_t lon)
{
	int32_t lo_lat = r->lo ? r->lo->latitude : 0, hi_lat = r->hi ? r->hi->latitude : 0;
	int32_t lo_lon = r->lo ? r->lo->longitude : 0, hi_lon = r->hi ? r->hi->longitude : 0;

	return lat >= (lo_lat < hi_lat ? lo_lat : hi_lat) &&
	       lat <= (lo_lat < hi_lat ? hi_lat : lo_lat) &&
	       lon >= (lo_lon < hi_lon ? lo_lon : hi_lon) &&
	       lon <= (lo_lon < hi_lon ? hi_lon : lo_lon);
}

static lrpc_code list_features(void *user, lrpc_call *call, const Routeguide__Rectangle *req,
			       lrpc_server_stream *stream)
{
	(void)user;
	(void)call;
	for (int row = 0; row < GRID_N; row++) {
		for (int col = 0; col < GRID_N; col++) {
			Routeguide__Feature f = ROUTEGUIDE__FEATURE__INIT;
			Routeguide__Point p = ROUTEGUIDE__POINT__INIT;
			char name[32];
			lrpc_code code;

			p.latitude = grid_lat(row);
			p.longitude = grid_lon(col);
			if (!inside(req, p.latitude, p.longitude) ||
			    !grid_feature(p.latitude, p.longitude, name, sizeof(name)))
				continue;
			f.name = name;
			f.location = &p;
			code = routeguide__route_guide__list_features__server_write(stream, &f);
			if (code != LRPC_OK)
				return code;
		}
	}
	return LRPC_OK;
}

/* Metres between two E7 points (haversine, as gRPC's examples compute it). */
static double distance_m(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2)
{
	const double k = 1e-7 * M_PI / 180.0, r = 6371000.0;
	double p1 = lat1 * k, p2 = lat2 * k, dp = p2 - p1, dl = (lon2 - lon1) * k;
	double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	return r * 2 * atan2(sqrt(a), sqrt(1 - a));
}

static lrpc_code record_route(void *user, lrpc_call *call, lrpc_server_stream *stream,
			      Routeguide__RouteSummary *reply)
{
	lrpc_deadline start = lrpc_now();
	Routeguide__Point *p;
	int32_t last_lat = 0, last_lon = 0;
	double distance = 0;
	lrpc_code code;
	char name[32];

	(void)user;
	(void)call;
	while ((code = routeguide__route_guide__record_route__server_read(stream, &p)) ==
		       LRPC_OK && p) {
		if (reply->point_count > 0)
			distance += distance_m(last_lat, last_lon, p->latitude, p->longitude);
		reply->point_count++;
		if (grid_feature(p->latitude, p->longitude, name, sizeof(name)))
			reply->feature_count++;
		/* p dies at the next read: keep what the next step needs. */
		last_lat = p->latitude;
		last_lon = p->longitude;
	}
	if (code != LRPC_OK)
		return code;
	reply->distance = (int32_t)distance;
	reply->elapsed_time = (int32_t)((lrpc_now() - start) / 1000000000);
	return LRPC_OK;
}

struct note {
	int32_t lat, lon;
	const char *message;
};

static lrpc_code route_chat(void *user, lrpc_call *call, lrpc_server_stream *stream)
{
	struct note *notes = lrpc_call_alloc(call, CHAT_MAX_NOTES * sizeof(*notes));
	Routeguide__RouteNote *in;
	size_t n = 0;
	lrpc_code code;

	(void)user;
	if (!notes)
		return LRPC_RESOURCE_EXHAUSTED;
	while ((code = routeguide__route_guide__route_chat__server_read(stream, &in)) ==
		       LRPC_OK && in) {
		int32_t lat = in->location ? in->location->latitude : 0;
		int32_t lon = in->location ? in->location->longitude : 0;

		for (size_t i = 0; i < n; i++) {
			Routeguide__RouteNote out = ROUTEGUIDE__ROUTE_NOTE__INIT;
			Routeguide__Point loc = ROUTEGUIDE__POINT__INIT;

			if (notes[i].lat != lat || notes[i].lon != lon)
				continue;
			loc.latitude = lat;
			loc.longitude = lon;
			out.location = &loc;
			out.message = (char *)notes[i].message;
			code = routeguide__route_guide__route_chat__server_write(stream, &out);
			if (code != LRPC_OK)
				return code;
		}
		if (n == CHAT_MAX_NOTES) {
			lrpc_call_set_message(call, "a chat keeps at most %d notes", CHAT_MAX_NOTES);
			return LRPC_RESOURCE_EXHAUSTED;
		}
		/* in dies at the next read: copy the note into call memory. */
		notes[n].lat = lat;
		notes[n].lon = lon;
		notes[n].message = lrpc_call_strdup(call, in->message);
		if (!notes[n].message)
			return LRPC_RESOURCE_EXHAUSTED;
		n++;
	}
	return code;
}

static void on_signal(int sig)
{
	(void)sig;
	lrpc_server_stop(server);
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "lrpc://route_guide";
	static const Routeguide__RouteGuide_Handlers handlers = {
		.get_feature = get_feature,
		.list_features = list_features,
		.record_route = record_route,
		.route_chat = route_chat,
	};
	char real[300];
	int ret;

	ret = lrpc_server_new(NULL, &server);
	if (ret == 0)
		ret = routeguide__route_guide__register(server, &handlers, NULL);
	if (ret == 0)
		ret = lrpc_server_listen(server, uri);
	if (ret == 0)
		ret = lrpc_server_listener_uri(server, 0, real, sizeof(real));
	if (ret == 0)
		ret = lrpc_server_start(server);
	if (ret < 0) {
		fprintf(stderr, "route-guide-server: %s: %s\n", uri, strerror(-ret));
		lrpc_server_free(server);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("route-guide-server: %s\n", real);
	fflush(stdout);
	lrpc_server_run(server);
	lrpc_server_free(server);
	return 0;
}
