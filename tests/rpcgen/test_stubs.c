/* SPDX-License-Identifier: MIT */
/*
 * The generated stubs of tests/proto, checked at run time: descriptors
 * (names, ids, message descriptors, order) against protobuf-c's own service
 * descriptors as the oracle, the invoke thunks' dispatch, and the register
 * and client wrappers.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpackage.lrpc.h"
#include "greeter.lrpc.h"
#include "keywords.lrpc.h"
#include "messages_only.lrpc.h"
#include "store.lrpc.h"

#ifdef RPCGEN_TEST_STAND_INS
#include "stand_ins.h"
#endif

#include "test_streams.h"

/*
 * Everything protoc-c and we both say about one service must agree, and
 * every id must be lrpc_method_id() of the full name and unique.
 */
static void check_against_protobuf_c(const lrpc_service_desc *d,
				     const ProtobufCServiceDescriptor *pbc,
				     const char *proto_file)
{
	ck_assert_uint_eq(d->magic, LRPC_SERVICE_DESC_MAGIC);
	ck_assert_uint_eq(d->abi_version, LRPC_SERVICE_ABI_VERSION);
	ck_assert_str_eq(d->name, pbc->name);
	ck_assert_str_eq(d->short_name, pbc->short_name);
	ck_assert_str_eq(d->package, pbc->package);
	ck_assert_str_eq(d->proto_file, proto_file);
	ck_assert_uint_eq(d->n_methods, pbc->n_methods);
	ck_assert_ptr_nonnull(d->dependencies);
	ck_assert_ptr_null(d->reserved[0]);
	for (size_t i = 0; i < d->n_methods; i++) {
		const lrpc_method_desc *m = &d->methods[i];
		char full[256];

		snprintf(full, sizeof(full), "/%s/%s", pbc->name, pbc->methods[i].name);
		ck_assert_str_eq(m->name, pbc->methods[i].name);
		ck_assert_str_eq(m->full_name, full);
		ck_assert_uint_eq(m->id, lrpc_method_id(full));
		ck_assert_ptr_eq(m->input, pbc->methods[i].input);
		ck_assert_ptr_eq(m->output, pbc->methods[i].output);
		ck_assert_uint_le(m->kind, LRPC_METHOD_BIDI_STREAMING);
		if (m->kind == LRPC_METHOD_UNARY) {
			ck_assert_ptr_nonnull(m->invoke);
			ck_assert_ptr_null(m->stream_invoke);
		} else {
			ck_assert_ptr_null(m->invoke);
			ck_assert_ptr_nonnull(m->stream_invoke);
		}
		ck_assert_ptr_null(m->reserved[0]);
		for (size_t j = 0; j < i; j++)
			ck_assert_uint_ne(d->methods[j].id, m->id);
	}
}

START_TEST(greeter_desc)
{
	const lrpc_service_desc *d = &greeter__greeter__service_desc;

	check_against_protobuf_c(d, &greeter__greeter__descriptor, "greeter.proto");
	ck_assert_str_eq(d->name, "greeter.Greeter");
	ck_assert_str_eq(d->short_name, "Greeter");
	ck_assert_str_eq(d->package, "greeter");
	ck_assert_uint_eq(d->n_methods, 2);
	ck_assert_str_eq(d->methods[0].name, "SayHello");
	ck_assert_str_eq(d->methods[1].name, "SayGoodbye");
	ck_assert_uint_eq(d->methods[0].id, GREETER__GREETER__SAY_HELLO__ID);
	ck_assert_uint_eq(d->methods[0].id, lrpc_method_id("/greeter.Greeter/SayHello"));
	ck_assert_uint_eq(d->methods[1].id, GREETER__GREETER__SAY_GOODBYE__ID);
	ck_assert_ptr_eq(d->methods[0].input, &greeter__hello_request__descriptor);
	ck_assert_ptr_eq(d->methods[0].output, &greeter__hello_reply__descriptor);
}
END_TEST

START_TEST(store_descs)
{
	const lrpc_service_desc *inv = &acme__store__v1__inventory__service_desc;
	const lrpc_service_desc *desk = &acme__store__v1__order_desk__service_desc;

	check_against_protobuf_c(inv, &acme__store__v1__inventory__descriptor, "store.proto");
	check_against_protobuf_c(desk, &acme__store__v1__order_desk__descriptor, "store.proto");
	ck_assert_str_eq(inv->name, "acme.store.v1.Inventory");
	ck_assert_str_eq(inv->package, "acme.store.v1");
	ck_assert_str_eq(desk->short_name, "OrderDesk");
	/* Imported, nested and imported-nested types. */
	ck_assert_ptr_eq(inv->methods[0].input, &acme__common__id__descriptor);
	ck_assert_ptr_eq(inv->methods[0].output, &acme__store__v1__order__item__descriptor);
	ck_assert_ptr_eq(inv->methods[2].output, &acme__common__page__descriptor);
	ck_assert_ptr_eq(inv->methods[3].input, &acme__common__page__entry__descriptor);
	ck_assert_ptr_eq(desk->methods[1].output, &acme__store__v1__order_list__descriptor);
	/* One method name in two services: the service is part of the id. */
	ck_assert_str_eq(desk->methods[2].name, inv->methods[0].name);
	ck_assert_uint_ne(ACME__STORE__V1__ORDER_DESK__GET_ITEM__ID,
			  ACME__STORE__V1__INVENTORY__GET_ITEM__ID);
	ck_assert_uint_eq(desk->methods[2].id, ACME__STORE__V1__ORDER_DESK__GET_ITEM__ID);
}
END_TEST

START_TEST(keyword_descs)
{
	check_against_protobuf_c(&static__service_desc, &static__descriptor, "keywords.proto");
	check_against_protobuf_c(&struct__service_desc, &struct__descriptor, "keywords.proto");
	ck_assert_str_eq(static__service_desc.name, "Static");
	ck_assert_str_eq(static__service_desc.package, "");
	ck_assert_uint_eq(static__service_desc.methods[0].id, lrpc_method_id("/Static/Class"));
	ck_assert_uint_eq(quiet__service_desc.n_methods, 0);
	ck_assert_ptr_null(quiet__service_desc.methods);
	ck_assert_str_eq(quiet__service_desc.name, "Quiet");
}
END_TEST

START_TEST(c_package_desc)
{
	const lrpc_service_desc *d = &cpkg__pinger__service_desc;

	check_against_protobuf_c(d, &cpkg__pinger__descriptor, "cpackage.proto");
	/* C names follow c_package; the proto names and ids do not. */
	ck_assert_str_eq(d->name, "renamed.orig.Pinger");
	ck_assert_str_eq(d->methods[0].full_name, "/renamed.orig.Pinger/Ping");
	ck_assert_uint_eq(CPKG__PINGER__PING__ID, lrpc_method_id("/renamed.orig.Pinger/Ping"));
	ck_assert_ptr_eq(d->methods[0].input, &cpkg__ping__descriptor);
}
END_TEST

/* --- thunks --------------------------------------------------------------- */

struct seen {
	int which;
	void *user;
	lrpc_call *call;
	const void *req;
	void *reply;
};

#define HANDLER(n, name, Req, Rep)                                              \
	static lrpc_code name(void *user, lrpc_call *call, const Req *req, Rep *reply) \
	{                                                                       \
		struct seen *s = user;                                          \
		s->which = n;                                                   \
		s->user = user;                                                 \
		s->call = call;                                                 \
		s->req = req;                                                   \
		s->reply = reply;                                               \
		return LRPC_ABORTED;                                            \
	}

HANDLER(1, h_class, Int, Int)
HANDLER(2, h_new, Void, Int)
HANDLER(3, h_delete, Int, Void)
HANDLER(4, h_template, Void, Void)
HANDLER(5, h_ping, Void, Void)
HANDLER(6, h_say_hello, Greeter__HelloRequest, Greeter__HelloReply)

/* Each method's thunk must reach its own member and pass everything through. */
START_TEST(thunks_dispatch_by_member)
{
	const Static_Handlers h = {
		.class_ = h_class,
		.new_ = h_new,
		.delete_ = h_delete,
		.template_ = h_template,
		.ping = h_ping,
	};
	const lrpc_service_desc *d = &static__service_desc;
	lrpc_call *fake_call = (lrpc_call *)&h; /* opaque: only compared */

	ck_assert_uint_eq(d->n_methods, 5);
	for (size_t i = 0; i < d->n_methods; i++) {
		struct seen s = { 0 };
		ProtobufCMessage *req = protobuf_c_message_unpack(d->methods[i].input, NULL, 0, NULL);
		ProtobufCMessage *rep = protobuf_c_message_unpack(d->methods[i].output, NULL, 0, NULL);

		ck_assert_ptr_nonnull(req);
		ck_assert_ptr_nonnull(rep);
		ck_assert_int_eq(d->methods[i].invoke(&h, &s, fake_call, req, rep), LRPC_ABORTED);
		ck_assert_int_eq(s.which, (int)i + 1);
		ck_assert_ptr_eq(s.user, &s);
		ck_assert_ptr_eq(s.call, fake_call);
		ck_assert_ptr_eq(s.req, req);
		ck_assert_ptr_eq(s.reply, rep);
		protobuf_c_message_free_unpacked(req, NULL);
		protobuf_c_message_free_unpacked(rep, NULL);
	}
}
END_TEST

START_TEST(thunks_null_member_unimplemented)
{
	const Greeter__Greeter_Handlers h = { .say_hello = h_say_hello };
	const lrpc_method_desc *m = greeter__greeter__service_desc.methods;
	Greeter__HelloRequest req = GREETER__HELLO_REQUEST__INIT;
	Greeter__HelloReply rep = GREETER__HELLO_REPLY__INIT;
	struct seen s = { 0 };

	ck_assert_int_eq(m[1].invoke(&h, &s, NULL, &req.base, &rep.base), LRPC_UNIMPLEMENTED);
	ck_assert_int_eq(s.which, 0);
	ck_assert_int_eq(m[0].invoke(&h, &s, NULL, &req.base, &rep.base), LRPC_ABORTED);
	ck_assert_int_eq(s.which, 6);
	/* A NULL table answers UNIMPLEMENTED too instead of crashing. */
	ck_assert_int_eq(m[0].invoke(NULL, &s, NULL, &req.base, &rep.base), LRPC_UNIMPLEMENTED);
}
END_TEST

/* --- register and call wrappers ------------------------------------------- */

#ifdef RPCGEN_TEST_STAND_INS
START_TEST(register_passes_desc)
{
	const Acme__Store__V1__OrderDesk_Handlers h = { 0 };
	lrpc_server *srv = (lrpc_server *)&h; /* opaque: only compared */
	int user;

	memset(&stand_in_log, 0, sizeof(stand_in_log));
	stand_in_log.add_ret = -17;
	ck_assert_int_eq(acme__store__v1__order_desk__register(srv, &h, &user), -17);
	ck_assert_int_eq(stand_in_log.add_calls, 1);
	ck_assert_ptr_eq(stand_in_log.srv, srv);
	ck_assert_ptr_eq(stand_in_log.desc, &acme__store__v1__order_desk__service_desc);
	ck_assert_ptr_eq(stand_in_log.handlers, &h);
	ck_assert_ptr_eq(stand_in_log.user, &user);
}
END_TEST

START_TEST(call_wrapper)
{
	Acme__Common__Id req = ACME__COMMON__ID__INIT;
	Acme__Store__V1__Order__Item *item = malloc(sizeof(*item));
	Acme__Store__V1__Order__Item *rep = (Acme__Store__V1__Order__Item *)&req;
	lrpc_channel *ch = (lrpc_channel *)&req; /* opaque: only compared */
	lrpc_status st;

	ck_assert_ptr_nonnull(item);
	acme__store__v1__order__item__init(item);
	memset(&stand_in_log, 0, sizeof(stand_in_log));
	stand_in_log.call_ret = LRPC_OK;
	stand_in_log.reply = &item->base;
	ck_assert_int_eq(acme__store__v1__order_desk__get_item__call(ch, &req, &rep, 1234, &st),
			 LRPC_OK);
	ck_assert_ptr_eq(rep, item);
	ck_assert_ptr_eq(stand_in_log.ch, ch);
	ck_assert_ptr_eq(stand_in_log.method, &acme__store__v1__order_desk__service_desc.methods[2]);
	ck_assert_ptr_eq(stand_in_log.req, &req.base);
	ck_assert_int_eq(stand_in_log.deadline, 1234);
	ck_assert_ptr_eq(stand_in_log.status, &st);
	free(item);

	/* On failure the wrapper returns the code and clears *reply. */
	stand_in_log.call_ret = LRPC_DEADLINE_EXCEEDED;
	ck_assert_int_eq(acme__store__v1__inventory__get_item__call(ch, &req, &rep,
								   LRPC_DEADLINE_DEFAULT, NULL),
			 LRPC_DEADLINE_EXCEEDED);
	ck_assert_ptr_null(rep);
	ck_assert_ptr_eq(stand_in_log.method, &acme__store__v1__inventory__service_desc.methods[0]);
	ck_assert_ptr_null(stand_in_log.status);
}
END_TEST

static void never_called(void *arg, lrpc_code code, ProtobufCMessage *rep,
			 const lrpc_status *st, lrpc_async *h)
{
	(void)arg, (void)code, (void)rep, (void)st, (void)h;
	ck_abort_msg("a stand-in never completes");
}

/* The asynchronous wrapper passes everything on, with its method. */
START_TEST(call_async_wrapper)
{
	Acme__Common__Id req = ACME__COMMON__ID__INIT;
	lrpc_channel *ch = (lrpc_channel *)&req; /* opaque: only compared */
	lrpc_cq *cq = (lrpc_cq *)&ch;
	lrpc_async *h;
	int arg;

	memset(&stand_in_log, 0, sizeof(stand_in_log));
	ck_assert_int_eq(acme__store__v1__order_desk__get_item__call_async(
				 ch, &req, 1234, cq, never_called, &arg, &h), 0);
	ck_assert_int_eq(stand_in_log.async_calls, 1);
	ck_assert_ptr_eq(stand_in_log.ch, ch);
	ck_assert_ptr_eq(stand_in_log.method, &acme__store__v1__order_desk__service_desc.methods[2]);
	ck_assert_ptr_eq(stand_in_log.req, &req.base);
	ck_assert_int_eq(stand_in_log.deadline, 1234);
	ck_assert_ptr_eq(stand_in_log.cq, cq);
	ck_assert(stand_in_log.cb == never_called);
	ck_assert_ptr_eq(stand_in_log.arg, &arg);
	ck_assert_ptr_eq(stand_in_log.handle, &h);
}
END_TEST
#else
/* Against the real runtime: registration works once, then is refused. */
START_TEST(register_real_runtime)
{
	const Greeter__Greeter_Handlers h = { .say_hello = h_say_hello };
	lrpc_server *srv;

	ck_assert_int_eq(lrpc_server_new(NULL, &srv), 0);
	ck_assert_int_eq(greeter__greeter__register(srv, &h, NULL), 0);
	ck_assert_int_lt(greeter__greeter__register(srv, &h, NULL), 0);
	lrpc_server_free(srv);
}
END_TEST
#endif

/* messages_only.lrpc.h must exist and bring in the messages, nothing more. */
START_TEST(messages_only_header)
{
	Acme__Plain__Note n = ACME__PLAIN__NOTE__INIT;

	ck_assert_ptr_eq(n.base.descriptor, &acme__plain__note__descriptor);
}
END_TEST

static Suite *rpcgen_suite(void)
{
	Suite *s = suite_create("rpcgen stubs");
	TCase *tc = tcase_create("descriptors");

	tcase_add_test(tc, greeter_desc);
	tcase_add_test(tc, store_descs);
	tcase_add_test(tc, keyword_descs);
	tcase_add_test(tc, c_package_desc);
	tcase_add_test(tc, messages_only_header);
	suite_add_tcase(s, tc);

	tc = tcase_create("thunks");
	tcase_add_test(tc, thunks_dispatch_by_member);
	tcase_add_test(tc, thunks_null_member_unimplemented);
	suite_add_tcase(s, tc);

	tc = tcase_create("wrappers");
#ifdef RPCGEN_TEST_STAND_INS
	tcase_add_test(tc, register_passes_desc);
	tcase_add_test(tc, call_wrapper);
	tcase_add_test(tc, call_async_wrapper);
#else
	tcase_add_test(tc, register_real_runtime);
#endif
	suite_add_tcase(s, tc);
	add_stream_tests(s);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rpcgen_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
