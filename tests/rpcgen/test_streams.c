/* SPDX-License-Identifier: MIT */
/*
 * The streaming stubs of gRPC's route_guide.proto and health.proto and of
 * streaming/chat.proto: descriptors (kinds, thunks), the embedded file
 * descriptors (decoded with descriptor.pb-c, checked against protoc-c's
 * service descriptors), and, with the stand-ins, what each typed stub and
 * thunk passes to the stream API.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"

#include "streaming/chat.lrpc.h"
#include "greeter.lrpc.h"
#include "grpc_user.lrpc.h"
#include "grpc/health/v1/health.lrpc.h"
#include "grpc/route_guide.lrpc.h"
#include "store.lrpc.h"

#ifdef RPCGEN_TEST_STAND_INS
#include "stand_ins.h"
#endif

#include "test_streams.h"

typedef Google__Protobuf__FileDescriptorProto file_proto;

START_TEST(kinds_recorded)
{
	const lrpc_service_desc *rg = &routeguide__route_guide__service_desc;
	const lrpc_service_desc *chat = &chat__chat__service_desc;
	static const uint32_t want[] = { LRPC_METHOD_UNARY, LRPC_METHOD_SERVER_STREAMING,
					 LRPC_METHOD_CLIENT_STREAMING,
					 LRPC_METHOD_BIDI_STREAMING };

	ck_assert_uint_eq(rg->n_methods, 4);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_uint_eq(rg->methods[i].kind, want[i]);
		ck_assert_int_eq(rg->methods[i].invoke != NULL, i == 0);
		ck_assert_int_eq(rg->methods[i].stream_invoke != NULL, i != 0);
	}
	ck_assert_str_eq(rg->methods[2].full_name, "/routeguide.RouteGuide/RecordRoute");
	ck_assert_uint_eq(rg->methods[3].id, ROUTEGUIDE__ROUTE_GUIDE__ROUTE_CHAT__ID);
	ck_assert_ptr_eq(rg->methods[2].input, &routeguide__point__descriptor);
	ck_assert_ptr_eq(rg->methods[2].output, &routeguide__route_summary__descriptor);
	ck_assert_uint_eq(grpc__health__v1__health__service_desc.methods[1].kind,
			  LRPC_METHOD_SERVER_STREAMING);
	ck_assert_uint_eq(chat->methods[0].kind, LRPC_METHOD_UNARY);
	ck_assert_uint_eq(chat->methods[1].kind, LRPC_METHOD_CLIENT_STREAMING);
	ck_assert_uint_eq(chat->methods[2].kind, LRPC_METHOD_SERVER_STREAMING);
	ck_assert_uint_eq(chat->methods[3].kind, LRPC_METHOD_BIDI_STREAMING);
	/* Importing route_guide.proto for its messages only. */
	ck_assert_ptr_eq(atlas__atlas__service_desc.methods[0].input,
			 &routeguide__point__descriptor);
}
END_TEST

/*
 * The embedded descriptor must decode and say what protoc-c's service
 * descriptor says, with the streaming flags matching the recorded kinds.
 */
static file_proto *check_file_descriptor(const lrpc_service_desc *d,
					 const ProtobufCServiceDescriptor *pbc)
{
	file_proto *f;
	const Google__Protobuf__ServiceDescriptorProto *svc = NULL;

	ck_assert_ptr_nonnull(d->file_descriptor);
	ck_assert_uint_gt(d->file_descriptor_len, 0);
	f = google__protobuf__file_descriptor_proto__unpack(NULL, d->file_descriptor_len,
							   d->file_descriptor);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->name, d->proto_file);
	ck_assert_str_eq(f->package ? f->package : "", d->package);
	ck_assert_ptr_null(f->source_code_info);
	for (size_t i = 0; i < f->n_service; i++)
		if (strcmp(f->service[i]->name, d->short_name) == 0)
			svc = f->service[i];
	ck_assert_ptr_nonnull(svc);
	ck_assert_uint_eq(svc->n_method, d->n_methods);
	ck_assert_uint_eq(svc->n_method, pbc->n_methods);
	for (size_t i = 0; i < svc->n_method; i++) {
		const Google__Protobuf__MethodDescriptorProto *m = svc->method[i];
		const lrpc_method_desc *md = &d->methods[i];
		uint32_t kind = (m->client_streaming ? 1u : 0u) | (m->server_streaming ? 2u : 0u);

		ck_assert_str_eq(m->name, md->name);
		ck_assert_str_eq(m->name, pbc->methods[i].name);
		/* LRPC_METHOD_* are numbered so that this holds. */
		ck_assert_uint_eq(kind == 3 ? LRPC_METHOD_BIDI_STREAMING : kind, md->kind);
		ck_assert_str_eq(m->input_type + 1, md->input->name);
		ck_assert_str_eq(m->output_type + 1, md->output->name);
	}
	return f;
}

START_TEST(file_descriptors_parse)
{
	file_proto *f;

	f = check_file_descriptor(&routeguide__route_guide__service_desc,
				  &routeguide__route_guide__descriptor);
	ck_assert_str_eq(f->name, "grpc/route_guide.proto");
	ck_assert_uint_eq(f->n_service, 1);
	ck_assert_uint_eq(f->n_message_type, 5);
	ck_assert_int_eq(f->service[0]->method[1]->server_streaming, 1);
	ck_assert_int_eq(f->service[0]->method[1]->client_streaming, 0);
	ck_assert_int_eq(f->service[0]->method[2]->client_streaming, 1);
	ck_assert_int_eq(f->service[0]->method[3]->client_streaming, 1);
	ck_assert_int_eq(f->service[0]->method[3]->server_streaming, 1);
	google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);

	f = check_file_descriptor(&grpc__health__v1__health__service_desc,
				  &grpc__health__v1__health__descriptor);
	ck_assert_str_eq(f->name, "grpc/health/v1/health.proto");
	ck_assert_str_eq(f->package, "grpc.health.v1");
	google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);

	f = check_file_descriptor(&atlas__atlas__service_desc, &atlas__atlas__descriptor);
	ck_assert_uint_eq(f->n_dependency, 1);
	ck_assert_str_eq(f->dependency[0], "grpc/route_guide.proto");
	google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);

	f = check_file_descriptor(&greeter__greeter__service_desc, &greeter__greeter__descriptor);
	google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);
}
END_TEST

/* Two services of one file share one descriptor. */
START_TEST(file_descriptor_shared)
{
	ck_assert_ptr_eq(acme__store__v1__inventory__service_desc.file_descriptor,
			 acme__store__v1__order_desk__service_desc.file_descriptor);
	ck_assert_ptr_ne(acme__store__v1__inventory__service_desc.file_descriptor,
			 greeter__greeter__service_desc.file_descriptor);
}
END_TEST

/*
 * Each file's imports travel with it, imports first, each once and only
 * the ones protoc named: route_guide.proto for grpc_user.proto,
 * common/types.proto for store.proto, none for greeter.proto.
 */
START_TEST(dependencies_embedded)
{
	const lrpc_file_desc *deps = atlas__atlas__service_desc.dependencies;
	file_proto *f;

	ck_assert_ptr_nonnull(deps);
	ck_assert_str_eq(deps[0].name, "grpc/route_guide.proto");
	ck_assert_ptr_null(deps[1].name);
	f = google__protobuf__file_descriptor_proto__unpack(NULL, deps[0].len, deps[0].data);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->name, "grpc/route_guide.proto");
	ck_assert_uint_eq(f->n_message_type, 5);
	ck_assert_ptr_null(f->source_code_info);
	google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);
	/* The same bytes as route_guide.proto's own embedding. */
	ck_assert_uint_eq(deps[0].len, routeguide__route_guide__service_desc.file_descriptor_len);
	ck_assert_mem_eq(deps[0].data, routeguide__route_guide__service_desc.file_descriptor,
			 deps[0].len);

	deps = acme__store__v1__inventory__service_desc.dependencies;
	ck_assert_str_eq(deps[0].name, "common/types.proto");
	ck_assert_ptr_null(deps[1].name);
	ck_assert_ptr_eq(deps, acme__store__v1__order_desk__service_desc.dependencies);

	deps = greeter__greeter__service_desc.dependencies;
	ck_assert_ptr_nonnull(deps);
	ck_assert_ptr_null(deps[0].name);
}
END_TEST

#ifdef RPCGEN_TEST_STAND_INS

/* --- handlers, through the thunks ------------------------------------- */

struct handler_seen {
	int calls;
	lrpc_call *call;
	const void *req;
	int n_read;
	void *reply;
};

static lrpc_code list_features(void *user, lrpc_call *call, const Routeguide__Rectangle *req,
			       lrpc_server_stream *stream)
{
	struct handler_seen *seen = user;
	Routeguide__Feature f = ROUTEGUIDE__FEATURE__INIT;
	lrpc_code code;

	seen->calls++;
	seen->call = call;
	seen->req = req;
	f.name = (char *)"first";
	code = routeguide__route_guide__list_features__server_write(stream, &f);
	if (code != LRPC_OK)
		return code;
	f.name = (char *)"second";
	return routeguide__route_guide__list_features__server_write(stream, &f);
}

static lrpc_code record_route(void *user, lrpc_call *call, lrpc_server_stream *stream,
			      Routeguide__RouteSummary *reply)
{
	struct handler_seen *seen = user;
	Routeguide__Point *p;
	lrpc_code code;

	seen->calls++;
	seen->call = call;
	seen->reply = reply;
	while ((code = routeguide__route_guide__record_route__server_read(stream, &p)) ==
		       LRPC_OK && p) {
		seen->n_read++;
		reply->distance += p->latitude;
	}
	if (code != LRPC_OK)
		return code;
	reply->point_count = seen->n_read;
	return reply->distance < 0 ? LRPC_OUT_OF_RANGE : LRPC_OK;
}

static lrpc_code route_chat(void *user, lrpc_call *call, lrpc_server_stream *stream)
{
	struct handler_seen *seen = user;
	Routeguide__RouteNote *n;
	lrpc_code code;

	seen->calls++;
	seen->call = call;
	while ((code = routeguide__route_guide__route_chat__server_read(stream, &n)) == LRPC_OK &&
	       n) {
		seen->n_read++;
		code = routeguide__route_guide__route_chat__server_write(stream, n);
		if (code != LRPC_OK)
			return code;
	}
	return code;
}

static const Routeguide__RouteGuide_Handlers rg_handlers = {
	.list_features = list_features,
	.record_route = record_route,
	.route_chat = route_chat,
};

static const lrpc_method_desc *rg_method(size_t i)
{
	return &routeguide__route_guide__service_desc.methods[i];
}

static ProtobufCMessage *written(int i, const ProtobufCMessageDescriptor *d)
{
	ck_assert_int_lt(i, stand_in_stream.n_written);
	return protobuf_c_message_unpack(d, NULL, stand_in_stream.written_len[i],
					 stand_in_stream.written[i]);
}

START_TEST(server_streaming_thunk)
{
	Routeguide__Rectangle rect = ROUTEGUIDE__RECTANGLE__INIT;
	lrpc_server_stream *ss = (lrpc_server_stream *)&rect; /* opaque to the stand-ins */
	lrpc_call *call = (lrpc_call *)&rect;
	struct handler_seen seen = { 0 };
	Routeguide__Feature *f;

	stand_in_stream_reset();
	stand_in_stream.to_read[0] = &rect.base;
	stand_in_stream.n_to_read = 1;
	ck_assert_int_eq(rg_method(1)->stream_invoke(&rg_handlers, &seen, call, ss), LRPC_OK);
	ck_assert_int_eq(seen.calls, 1);
	ck_assert_ptr_eq(seen.req, &rect);
	ck_assert_ptr_eq(seen.call, call);
	ck_assert_int_eq(stand_in_stream.n_read, 1); /* only the one request */
	ck_assert_int_eq(stand_in_stream.n_written, 2);
	f = (Routeguide__Feature *)written(1, &routeguide__feature__descriptor);
	ck_assert_str_eq(f->name, "second");
	protobuf_c_message_free_unpacked(&f->base, NULL);

	/* Half-closed without the request: refused, handler not called. */
	stand_in_stream_reset();
	ck_assert_int_eq(rg_method(1)->stream_invoke(&rg_handlers, &seen, call, ss),
			 LRPC_INVALID_ARGUMENT);
	ck_assert_int_eq(seen.calls, 1);
	ck_assert_ptr_nonnull(strstr(stand_in_stream.call_message,
				     "/routeguide.RouteGuide/ListFeatures takes one request"));

	/* The stream ended before the request: that code, handler not called. */
	stand_in_stream_reset();
	stand_in_stream.end_code = LRPC_CANCELLED;
	ck_assert_int_eq(rg_method(1)->stream_invoke(&rg_handlers, &seen, call, ss),
			 LRPC_CANCELLED);
	ck_assert_int_eq(seen.calls, 1);
	stand_in_stream_reset();
}
END_TEST

START_TEST(client_streaming_thunk)
{
	Routeguide__Point pts[3] = { ROUTEGUIDE__POINT__INIT, ROUTEGUIDE__POINT__INIT,
				     ROUTEGUIDE__POINT__INIT };
	lrpc_server_stream *ss = (lrpc_server_stream *)pts;
	struct handler_seen seen = { 0 };
	Routeguide__RouteSummary *sum;

	stand_in_stream_reset();
	for (int i = 0; i < 3; i++) {
		pts[i].latitude = 10 * (i + 1);
		stand_in_stream.to_read[i] = &pts[i].base;
	}
	stand_in_stream.n_to_read = 3;
	ck_assert_int_eq(rg_method(2)->stream_invoke(&rg_handlers, &seen, NULL, ss), LRPC_OK);
	ck_assert_int_eq(seen.calls, 1);
	ck_assert_int_eq(seen.n_read, 3);
	/* The thunk sent the reply the handler filled, once. */
	ck_assert_int_eq(stand_in_stream.n_written, 1);
	sum = (Routeguide__RouteSummary *)written(0, &routeguide__route_summary__descriptor);
	ck_assert_int_eq(sum->point_count, 3);
	ck_assert_int_eq(sum->distance, 60);
	protobuf_c_message_free_unpacked(&sum->base, NULL);

	/* A failing handler's code ends the stream; nothing is sent. */
	stand_in_stream_reset();
	pts[0].latitude = -100;
	stand_in_stream.to_read[0] = &pts[0].base;
	stand_in_stream.n_to_read = 1;
	ck_assert_int_eq(rg_method(2)->stream_invoke(&rg_handlers, &seen, NULL, ss),
			 LRPC_OUT_OF_RANGE);
	ck_assert_int_eq(stand_in_stream.n_written, 0);
	stand_in_stream_reset();
}
END_TEST

START_TEST(bidi_thunk)
{
	Routeguide__RouteNote notes[2] = { ROUTEGUIDE__ROUTE_NOTE__INIT,
					   ROUTEGUIDE__ROUTE_NOTE__INIT };
	lrpc_server_stream *ss = (lrpc_server_stream *)notes;
	struct handler_seen seen = { 0 };
	Routeguide__RouteNote *n;

	stand_in_stream_reset();
	notes[0].message = (char *)"a";
	notes[1].message = (char *)"b";
	stand_in_stream.to_read[0] = &notes[0].base;
	stand_in_stream.to_read[1] = &notes[1].base;
	stand_in_stream.n_to_read = 2;
	ck_assert_int_eq(rg_method(3)->stream_invoke(&rg_handlers, &seen, NULL, ss), LRPC_OK);
	ck_assert_int_eq(stand_in_stream.n_written, 2);
	n = (Routeguide__RouteNote *)written(1, &routeguide__route_note__descriptor);
	ck_assert_str_eq(n->message, "b");
	protobuf_c_message_free_unpacked(&n->base, NULL);
	stand_in_stream_reset();
}
END_TEST

/* A NULL member (or table) answers UNIMPLEMENTED before reading anything. */
START_TEST(stream_thunks_null_member)
{
	const Routeguide__RouteGuide_Handlers none = { 0 };
	lrpc_server_stream *ss = (lrpc_server_stream *)&none;
	Routeguide__Point p = ROUTEGUIDE__POINT__INIT;

	for (size_t i = 1; i < 4; i++) {
		stand_in_stream_reset();
		stand_in_stream.to_read[0] = &p.base;
		stand_in_stream.n_to_read = 1;
		ck_assert_int_eq(rg_method(i)->stream_invoke(&none, NULL, NULL, ss),
				 LRPC_UNIMPLEMENTED);
		ck_assert_int_eq(rg_method(i)->stream_invoke(NULL, NULL, NULL, ss),
				 LRPC_UNIMPLEMENTED);
		ck_assert_int_eq(stand_in_stream.n_read, 0);
	}
	stand_in_stream_reset();
}
END_TEST

/* --- client stubs ------------------------------------------------------ */

START_TEST(server_streaming_client)
{
	Routeguide__Rectangle rect = ROUTEGUIDE__RECTANGLE__INIT;
	Routeguide__Point lo = ROUTEGUIDE__POINT__INIT;
	Routeguide__Feature f1 = ROUTEGUIDE__FEATURE__INIT;
	lrpc_channel *ch = (lrpc_channel *)&rect;
	lrpc_stream *s = NULL;
	Routeguide__Feature *got;
	Routeguide__Rectangle *sent;
	lrpc_status st;

	stand_in_stream_reset();
	lo.latitude = 7;
	rect.lo = &lo;
	stand_in_stream.to_read[0] = &f1.base;
	stand_in_stream.n_to_read = 1;
	ck_assert_int_eq(routeguide__route_guide__list_features__open(ch, &rect, 4321, &s, &st),
			 LRPC_OK);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_eq(stand_in_log.ch, ch);
	ck_assert_ptr_eq(stand_in_stream.method, rg_method(1));
	ck_assert_int_eq(stand_in_stream.deadline, 4321);
	/* The request went out and the stream is half-closed. */
	ck_assert_int_eq(stand_in_stream.n_written, 1);
	ck_assert_int_eq(stand_in_stream.close_send_calls, 1);
	sent = (Routeguide__Rectangle *)written(0, &routeguide__rectangle__descriptor);
	ck_assert_int_eq(sent->lo->latitude, 7);
	protobuf_c_message_free_unpacked(&sent->base, NULL);
	ck_assert_int_eq(routeguide__route_guide__list_features__read(s, &got, &st), LRPC_OK);
	ck_assert_ptr_eq(got, &f1);
	ck_assert_int_eq(routeguide__route_guide__list_features__read(s, &got, &st), LRPC_OK);
	ck_assert_ptr_null(got);
	lrpc_stream_free(s);

	/* A refused request frees the stream: nothing for the caller to free. */
	stand_in_stream_reset();
	stand_in_stream.write_ret = LRPC_RESOURCE_EXHAUSTED;
	ck_assert_int_eq(routeguide__route_guide__list_features__open(ch, &rect, 0, &s, NULL),
			 LRPC_RESOURCE_EXHAUSTED);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(stand_in_stream.free_calls, 1);

	/* A failed open: its code, no write. */
	stand_in_stream_reset();
	stand_in_stream.open_ret = LRPC_UNIMPLEMENTED;
	ck_assert_int_eq(routeguide__route_guide__list_features__open(ch, &rect, 0, &s, &st),
			 LRPC_UNIMPLEMENTED);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(st.code, LRPC_UNIMPLEMENTED);
	ck_assert_int_eq(stand_in_stream.n_written, 0);
	stand_in_stream_reset();
}
END_TEST

/* open, write three points, close_and_recv: the reply is the caller's copy. */
static lrpc_code record(Routeguide__RouteSummary **reply, lrpc_status *st)
{
	lrpc_stream *s;
	lrpc_code code;

	ck_assert_int_eq(routeguide__route_guide__record_route__open((lrpc_channel *)st, 99,
								    &s, st),
			 LRPC_OK);
	for (int i = 0; i < 3; i++) {
		Routeguide__Point p = ROUTEGUIDE__POINT__INIT;

		p.longitude = i;
		ck_assert_int_eq(routeguide__route_guide__record_route__write(s, &p, st), LRPC_OK);
	}
	code = routeguide__route_guide__record_route__close_and_recv(s, reply, st);
	lrpc_stream_free(s);
	return code;
}

START_TEST(client_streaming_client)
{
	Routeguide__RouteSummary sum = ROUTEGUIDE__ROUTE_SUMMARY__INIT, *reply;
	Routeguide__Point *p;
	lrpc_status st;

	stand_in_stream_reset();
	sum.point_count = 3;
	sum.distance = 1234;
	stand_in_stream.to_read[0] = &sum.base;
	stand_in_stream.n_to_read = 1;
	ck_assert_int_eq(record(&reply, &st), LRPC_OK);
	ck_assert_ptr_eq(stand_in_stream.method, rg_method(2));
	ck_assert_int_eq(stand_in_stream.n_written, 3);
	p = (Routeguide__Point *)written(2, &routeguide__point__descriptor);
	ck_assert_int_eq(p->longitude, 2);
	protobuf_c_message_free_unpacked(&p->base, NULL);
	ck_assert_int_eq(stand_in_stream.close_send_calls, 1);
	ck_assert_int_eq(stand_in_stream.n_read, 1);
	/* A copy, not the stream's message, so it outlives the stream. */
	ck_assert_ptr_nonnull(reply);
	ck_assert_ptr_ne(reply, &sum);
	ck_assert_int_eq(reply->point_count, 3);
	ck_assert_int_eq(reply->distance, 1234);
	protobuf_c_message_free_unpacked(&reply->base, NULL);

	/* The server's error status, after or without a reply: no reply. */
	stand_in_stream_reset();
	stand_in_stream.to_read[0] = &sum.base;
	stand_in_stream.n_to_read = 1;
	stand_in_stream.end_code = LRPC_ABORTED;
	ck_assert_int_eq(record(&reply, &st), LRPC_ABORTED);
	ck_assert_ptr_null(reply);

	/* OK without a reply, or two replies: INTERNAL, saying which. */
	stand_in_stream_reset();
	ck_assert_int_eq(record(&reply, &st), LRPC_INTERNAL);
	ck_assert_ptr_null(reply);
	ck_assert_int_eq(st.code, LRPC_INTERNAL);
	ck_assert_ptr_nonnull(strstr(st.message, "RecordRoute: the server sent no reply"));

	stand_in_stream_reset();
	stand_in_stream.to_read[0] = &sum.base;
	stand_in_stream.to_read[1] = &sum.base;
	stand_in_stream.n_to_read = 2;
	ck_assert_int_eq(record(&reply, &st), LRPC_INTERNAL);
	ck_assert_ptr_null(reply);
	ck_assert_ptr_nonnull(strstr(st.message, "more than one reply"));
	ck_assert_int_eq(stand_in_stream.cancel_calls, 1);
	stand_in_stream_reset();
}
END_TEST

START_TEST(bidi_client)
{
	Routeguide__RouteNote note = ROUTEGUIDE__ROUTE_NOTE__INIT, *got;
	lrpc_stream *s;
	lrpc_status st;

	stand_in_stream_reset();
	stand_in_stream.to_read[0] = &note.base;
	stand_in_stream.n_to_read = 1;
	stand_in_stream.end_code = LRPC_DEADLINE_EXCEEDED;
	ck_assert_int_eq(routeguide__route_guide__route_chat__open((lrpc_channel *)&note,
								  LRPC_DEADLINE_DEFAULT, &s, NULL),
			 LRPC_OK);
	ck_assert_ptr_eq(stand_in_stream.method, rg_method(3));
	ck_assert_int_eq(stand_in_stream.n_written, 0); /* nothing sent by open */
	ck_assert_int_eq(routeguide__route_guide__route_chat__write(s, &note, &st), LRPC_OK);
	ck_assert_int_eq(stand_in_stream.n_written, 1);
	ck_assert_int_eq(routeguide__route_guide__route_chat__close_send(s, &st), LRPC_OK);
	ck_assert_int_eq(stand_in_stream.close_send_calls, 1);
	ck_assert_int_eq(routeguide__route_guide__route_chat__read(s, &got, &st), LRPC_OK);
	ck_assert_ptr_eq(got, &note);
	ck_assert_int_eq(routeguide__route_guide__route_chat__read(s, &got, &st),
			 LRPC_DEADLINE_EXCEEDED);
	ck_assert_ptr_null(got);
	lrpc_stream_free(s);
	stand_in_stream_reset();
}
END_TEST
#endif

void add_stream_tests(Suite *s)
{
	TCase *tc = tcase_create("streaming descriptors");

	tcase_add_test(tc, kinds_recorded);
	tcase_add_test(tc, file_descriptors_parse);
	tcase_add_test(tc, file_descriptor_shared);
	tcase_add_test(tc, dependencies_embedded);
	suite_add_tcase(s, tc);
#ifdef RPCGEN_TEST_STAND_INS
	tc = tcase_create("streaming stubs");
	tcase_add_test(tc, server_streaming_thunk);
	tcase_add_test(tc, client_streaming_thunk);
	tcase_add_test(tc, bidi_thunk);
	tcase_add_test(tc, stream_thunks_null_member);
	tcase_add_test(tc, server_streaming_client);
	tcase_add_test(tc, client_streaming_client);
	tcase_add_test(tc, bidi_client);
	suite_add_tcase(s, tc);
#endif
}
