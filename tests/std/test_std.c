// SPDX-License-Identifier: MIT
/*
 * lazyrpc-std over each transport: grpc.health.v1.Health (Check, Watch)
 * and grpc.reflection.v1 / v1alpha against std_server, grpc:// included
 * (lazyrpc's client streams); tests/grpc/std_services.py does the same
 * with Python's gRPC as the client.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lazyrpc/std.h>

#include "harness.h"
#include "catalog.lrpc.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/health/v1/health.lrpc.h"
#include "grpc/reflection/v1/reflection.lrpc.h"
#include "grpc/reflection/v1alpha/reflection.lrpc.h"
#include "lazyrpc/stats/v1/stats.lrpc.h"

typedef Grpc__Health__V1__HealthCheckRequest health_req;
typedef Grpc__Health__V1__HealthCheckResponse health_rep;
typedef Grpc__Reflection__V1__ServerReflectionRequest refl_req;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_rep;

#define DEADLINE_MS 30000
#define REPLY_MAX (1u << 20)

static void start(struct peer *srv)
{
	char name[64], want[32];
	char *argv[] = { (char *)h_bin("LRPC_STD_SERVER"), name, NULL };

	h_dir_setup();
	snprintf(name, sizeof(name), "std-%d", (int)getpid());
	h_spawn(srv, argv);
	snprintf(want, sizeof(want), "listen %s://", h_transport());
	ck_assert_msg(h_expect_line(srv, want, srv->uri, sizeof(srv->uri), 10000),
		      "std_server did not listen on %s", h_transport());
	ck_assert_msg(h_expect(srv, "ready", 10000), "std_server did not start");
}

static lrpc_code check(lrpc_channel *ch, const char *service, int *status)
{
	health_req req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	health_rep *rep = NULL;
	lrpc_status st;
	lrpc_code code;

	req.service = (char *)service;
	code = grpc__health__v1__health__check__call(ch, &req, &rep,
						     lrpc_deadline_after_ms(DEADLINE_MS), &st);
	if (code == LRPC_OK) {
		*status = rep->status;
		grpc__health__v1__health_check_response__free_unpacked(rep, NULL);
	}
	return code;
}

static lrpc_code control(lrpc_channel *ch, bool clear, const char *service, int status)
{
	Lrpcstd__SetHealthReq req = LRPCSTD__SET_HEALTH_REQ__INIT;
	Google__Protobuf__Empty *rep = NULL;
	lrpc_code code;

	req.service = (char *)service;
	req.status = status;
	code = (clear ? lrpcstd__control__clear_health__call :
			lrpcstd__control__set_health__call)(
		ch, &req, &rep, lrpc_deadline_after_ms(DEADLINE_MS), NULL);
	if (rep)
		google__protobuf__empty__free_unpacked(rep, NULL);
	return code;
}

static unsigned int watchers(lrpc_channel *ch)
{
	Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
	Lrpcstd__WatchersReply *rep = NULL;
	unsigned int n;

	ck_assert_int_eq(lrpcstd__control__watchers__call(
				 ch, &req, &rep, lrpc_deadline_after_ms(DEADLINE_MS), NULL),
			 LRPC_OK);
	n = rep->watchers;
	lrpcstd__watchers_reply__free_unpacked(rep, NULL);
	return n;
}

START_TEST(check_statuses)
{
	struct peer srv;
	lrpc_channel *ch;
	int status = -1;

	start(&srv);
	ch = h_open(&srv);
	/* "" is the server as a whole; std_server set lrpcstd.Catalog. */
	ck_assert_int_eq(check(ch, "", &status), LRPC_OK);
	ck_assert_int_eq(status, LRPC_HEALTH_SERVING);
	ck_assert_int_eq(check(ch, "lrpcstd.Catalog", &status), LRPC_OK);
	ck_assert_int_eq(status, LRPC_HEALTH_SERVING);
	ck_assert_int_eq(check(ch, "lrpcstd.Nothing", &status), LRPC_NOT_FOUND);
	ck_assert_int_eq(control(ch, false, "lrpcstd.Catalog", LRPC_HEALTH_NOT_SERVING),
			 LRPC_OK);
	ck_assert_int_eq(check(ch, "lrpcstd.Catalog", &status), LRPC_OK);
	ck_assert_int_eq(status, LRPC_HEALTH_NOT_SERVING);
	ck_assert_int_eq(control(ch, true, "lrpcstd.Catalog", 0), LRPC_OK);
	ck_assert_int_eq(check(ch, "lrpcstd.Catalog", &status), LRPC_NOT_FOUND);
	/* SERVICE_UNKNOWN is Watch's, not a status to set. */
	ck_assert_int_eq(control(ch, false, "x", LRPC_HEALTH_SERVICE_UNKNOWN),
			 LRPC_INVALID_ARGUMENT);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

static Lazyrpc__Stats__V1__GetResponse *stats(lrpc_channel *ch, const char *prefix)
{
	Lazyrpc__Stats__V1__GetRequest req = LAZYRPC__STATS__V1__GET_REQUEST__INIT;
	Lazyrpc__Stats__V1__GetResponse *rep = NULL;

	req.prefix = (char *)prefix;
	ck_assert_int_eq(lazyrpc__stats__v1__stats__get__call(
				 ch, &req, &rep, lrpc_deadline_after_ms(DEADLINE_MS), NULL),
			 LRPC_OK);
	return rep;
}

static uint64_t code_count(const Lazyrpc__Stats__V1__MethodStats *m, const char *code)
{
	for (size_t i = 0; i < m->n_codes; i++)
		if (!strcmp(m->codes[i]->code, code))
			return m->codes[i]->count;
	return 0;
}

/* lazyrpc.stats.v1.Stats counts each method's calls by status, with
 * ordered quantiles, and itself too. */
START_TEST(stats_count_calls)
{
	Lazyrpc__Stats__V1__GetResponse *rep;
	const Lazyrpc__Stats__V1__MethodStats *m;
	struct peer srv;
	lrpc_channel *ch;
	int status;

	start(&srv);
	ch = h_open(&srv);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(check(ch, "", &status), LRPC_OK);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(check(ch, "lrpcstd.Nothing", &status), LRPC_NOT_FOUND);
	rep = stats(ch, "grpc.health.");
	ck_assert_uint_eq(rep->n_methods, 1);
	m = rep->methods[0];
	ck_assert_str_eq(m->method, "grpc.health.v1.Health/Check");
	ck_assert_uint_eq(m->calls, 13);
	ck_assert_uint_eq(m->errors, 3);
	ck_assert_uint_eq(code_count(m, "OK"), 10);
	ck_assert_uint_eq(code_count(m, "NOT_FOUND"), 3);
	ck_assert_uint_eq(m->n_codes, 2);
	ck_assert(m->max_ns > 0 && m->p50_ns <= m->p99_ns && m->p99_ns <= m->max_ns);
	ck_assert(rep->uptime_ns > 0);
	ck_assert_uint_ge(rep->clients_accepted, 1);
	lazyrpc__stats__v1__get_response__free_unpacked(rep, NULL);
	/* The first Get ended before this one began: it is counted. */
	rep = stats(ch, "");
	ck_assert_uint_eq(rep->n_methods, 2);
	ck_assert_str_eq(rep->methods[1]->method, "lazyrpc.stats.v1.Stats/Get");
	ck_assert_uint_eq(rep->methods[1]->calls, 1);
	lazyrpc__stats__v1__get_response__free_unpacked(rep, NULL);
	rep = stats(ch, "no.such.");
	ck_assert_uint_eq(rep->n_methods, 0);
	lazyrpc__stats__v1__get_response__free_unpacked(rep, NULL);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

static lrpc_stream *watch(lrpc_channel *ch, const char *service, lrpc_deadline deadline)
{
	health_req req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	lrpc_stream *s = NULL;
	lrpc_status st;

	req.service = (char *)service;
	ck_assert_msg(grpc__health__v1__health__watch__open(ch, &req, deadline, &s, &st) ==
			      LRPC_OK, "%s", st.message);
	return s;
}

static int next_status(lrpc_stream *s)
{
	health_rep *rep = NULL;
	lrpc_status st;

	ck_assert_msg(grpc__health__v1__health__watch__read(s, &rep, &st) == LRPC_OK && rep,
		      "watch read: %s %s", lrpc_code_name(st.code), st.message);
	return rep->status;
}

START_TEST(watch_follows_changes)
{
	lrpc_deadline deadline = lrpc_deadline_after_ms(DEADLINE_MS);
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *a, *b;

	start(&srv);
	ch = h_open(&srv);
	a = watch(ch, "lrpcstd.Catalog", deadline);
	ck_assert_int_eq(next_status(a), LRPC_HEALTH_SERVING);
	ck_assert_int_eq(control(ch, false, "lrpcstd.Catalog", LRPC_HEALTH_NOT_SERVING),
			 LRPC_OK);
	ck_assert_int_eq(next_status(a), LRPC_HEALTH_NOT_SERVING);
	/* A name without status: SERVICE_UNKNOWN, and the watch goes on. */
	b = watch(ch, "lrpcstd.Later", deadline);
	ck_assert_int_eq(next_status(b), LRPC_HEALTH_SERVICE_UNKNOWN);
	ck_assert_int_eq(control(ch, false, "lrpcstd.Later", LRPC_HEALTH_SERVING), LRPC_OK);
	ck_assert_int_eq(next_status(b), LRPC_HEALTH_SERVING);
	ck_assert_int_eq(control(ch, true, "lrpcstd.Later", 0), LRPC_OK);
	ck_assert_int_eq(next_status(b), LRPC_HEALTH_SERVICE_UNKNOWN);
	/* Setting what it already is sends nothing: the next is the change. */
	ck_assert_int_eq(control(ch, false, "lrpcstd.Catalog", LRPC_HEALTH_NOT_SERVING),
			 LRPC_OK);
	ck_assert_int_eq(control(ch, false, "lrpcstd.Catalog", LRPC_HEALTH_SERVING), LRPC_OK);
	ck_assert_int_eq(next_status(a), LRPC_HEALTH_SERVING);
	ck_assert_uint_eq(watchers(ch), 2);
	/* A cancelled watch ends on the server: wait for the count to drop
	 * (each look is a call; the test's timeout bounds the wait). */
	lrpc_stream_cancel(a);
	lrpc_stream_free(a);
	while (watchers(ch) != 1)
		;
	lrpc_stream_free(b);
	while (watchers(ch) != 0)
		;
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* A watch without end of its own must not hold up the server's stop, and
 * sees the server go (NOT_SERVING) before its end, as gRPC's clients and
 * load balancers expect; a Check after that is never SERVING again. Each
 * watch has a connection of its own. Over unix:// and tcp:// the client's
 * window update, sent as it reads SERVING, may reach a server whose drain
 * stopped reading: the server's lingering close reads it away, so no reset
 * drops the NOT_SERVING queued behind it. */
START_TEST(watch_ends_at_stop)
{
	struct peer srv;
	lrpc_channel *ch, *ch2;
	lrpc_stream *s, *named;
	health_rep *rep = NULL;
	lrpc_status st;
	lrpc_code code;
	int status = -1;

	start(&srv);
	ch = h_open(&srv);
	s = watch(ch, "", lrpc_deadline_after_ms(10 * DEADLINE_MS));
	ck_assert_int_eq(next_status(s), LRPC_HEALTH_SERVING);
	ch2 = h_open(&srv);
	named = watch(ch2, "lrpcstd.Catalog", lrpc_deadline_after_ms(10 * DEADLINE_MS));
	ck_assert_int_eq(next_status(named), LRPC_HEALTH_SERVING);
	kill(srv.pid, SIGTERM);
	ck_assert_int_eq(next_status(s), LRPC_HEALTH_NOT_SERVING);
	ck_assert_int_eq(next_status(named), LRPC_HEALTH_NOT_SERVING);
	/* The drain may have refused it by now: UNAVAILABLE then. */
	code = check(ch, "", &status);
	ck_assert_msg(code == LRPC_UNAVAILABLE ||
		      (code == LRPC_OK && status == LRPC_HEALTH_NOT_SERVING),
		      "check during stop: %s, status %d", lrpc_code_name(code), status);
	code = grpc__health__v1__health__watch__read(s, &rep, &st);
	ck_assert_msg(code == LRPC_CANCELLED || code == LRPC_UNAVAILABLE,
		      "watch after stop: %s %s", lrpc_code_name(code), st.message);
	ck_assert_ptr_null(rep);
	code = grpc__health__v1__health__watch__read(named, &rep, &st);
	ck_assert_msg(code == LRPC_CANCELLED || code == LRPC_UNAVAILABLE,
		      "named watch after stop: %s %s", lrpc_code_name(code), st.message);
	ck_assert_ptr_null(rep);
	ck_assert(h_expect(&srv, "stopped", DEADLINE_MS));
	ck_assert_int_eq(h_wait(&srv, DEADLINE_MS), 0);
	lrpc_stream_free(named);
	lrpc_stream_free(s);
	lrpc_channel_close(ch2);
	lrpc_channel_close(ch);
}
END_TEST

/* Checks on a channel of their own, racing the stop. */
struct checker {
	lrpc_channel *ch;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int done;     /* Checks answered */
	unsigned int serving;  /* of them SERVING, after the first that was not */
	lrpc_code last;        /* the code that ended the run */
	int last_status;
};

static void *check_loop(void *arg)
{
	struct checker *k = arg;
	bool gone = false;

	for (;;) {
		int status = -1;
		lrpc_code code = check(k->ch, "", &status);

		pthread_mutex_lock(&k->lock);
		k->done++;
		if (code == LRPC_OK && status == LRPC_HEALTH_SERVING && gone)
			k->serving++;
		if (code != LRPC_OK || status != LRPC_HEALTH_SERVING)
			gone = true;
		k->last = code;
		k->last_status = status;
		pthread_cond_broadcast(&k->cond);
		pthread_mutex_unlock(&k->lock);
		if (code != LRPC_OK)
			return NULL;
	}
}

/* Once a Check was not SERVING, none is; one that a Watch's NOT_SERVING
 * came before is not SERVING either; and the run ends UNAVAILABLE (the
 * drain refused it, or the server had gone). */
START_TEST(check_races_stop)
{
	struct checker k = { .last = LRPC_OK };
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *s;
	pthread_t t;
	unsigned int before;

	start(&srv);
	ch = h_open(&srv);
	k.ch = h_open(&srv);
	pthread_mutex_init(&k.lock, NULL);
	pthread_cond_init(&k.cond, NULL);
	s = watch(ch, "", lrpc_deadline_after_ms(10 * DEADLINE_MS));
	ck_assert_int_eq(next_status(s), LRPC_HEALTH_SERVING);
	ck_assert_int_eq(pthread_create(&t, NULL, check_loop, &k), 0);
	pthread_mutex_lock(&k.lock);
	while (k.done == 0)
		pthread_cond_wait(&k.cond, &k.lock);
	pthread_mutex_unlock(&k.lock);
	kill(srv.pid, SIGTERM);
	ck_assert_int_eq(next_status(s), LRPC_HEALTH_NOT_SERVING);
	/* The stop has begun: the next Check to start is not SERVING. */
	pthread_mutex_lock(&k.lock);
	before = k.done;
	while (k.done < before + 2 && k.last == LRPC_OK)
		pthread_cond_wait(&k.cond, &k.lock);
	ck_assert_msg(k.last != LRPC_OK || k.last_status == LRPC_HEALTH_NOT_SERVING,
		      "check after NOT_SERVING: status %d", k.last_status);
	pthread_mutex_unlock(&k.lock);
	ck_assert(h_expect(&srv, "stopped", DEADLINE_MS));
	ck_assert_int_eq(h_wait(&srv, DEADLINE_MS), 0);
	pthread_join(t, NULL);
	ck_assert_uint_eq(k.serving, 0);
	ck_assert_msg(k.last == LRPC_UNAVAILABLE, "checks ended %s", lrpc_code_name(k.last));
	pthread_cond_destroy(&k.cond);
	pthread_mutex_destroy(&k.lock);
	lrpc_stream_free(s);
	lrpc_channel_close(k.ch);
	lrpc_channel_close(ch);
}
END_TEST

/* --- reflection --------------------------------------------------------- */

struct refl {
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *s;
	uint8_t *buf;
};

/* A server, a channel and a reflection stream on it: v1 or v1alpha, the
 * same bytes, so v1's types serve both here. */
static void refl_begin(struct refl *r, bool alpha)
{
	const lrpc_method_desc *m = alpha ?
		&grpc__reflection__v1alpha__server_reflection__service_desc.methods[0] :
		&grpc__reflection__v1__server_reflection__service_desc.methods[0];
	lrpc_status st;

	start(&r->srv);
	r->ch = h_open(&r->srv);
	ck_assert_msg(lrpc_stream_open(r->ch, m, lrpc_deadline_after_ms(DEADLINE_MS), &r->s,
				       &st) == LRPC_OK, "%s", st.message);
	r->buf = malloc(REPLY_MAX);
	ck_assert_ptr_nonnull(r->buf);
}

static void refl_end(struct refl *r)
{
	size_t len;
	int end = 0;
	lrpc_status st;

	/* The half-close ends the stream with OK. */
	ck_assert_int_eq(lrpc_stream_close_send(r->s, &st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_read_raw(r->s, r->buf, REPLY_MAX, &len, &end, &st),
			 LRPC_OK);
	ck_assert_int_eq(end, 1);
	lrpc_stream_free(r->s);
	free(r->buf);
	lrpc_channel_close(r->ch);
	h_kill(&r->srv, SIGTERM);
}

static void done(refl_rep *rep)
{
	grpc__reflection__v1__server_reflection_response__free_unpacked(rep, NULL);
}

static refl_rep *ask(struct refl *r, refl_req *req)
{
	size_t n = grpc__reflection__v1__server_reflection_request__get_packed_size(req), len;
	uint8_t *out = malloc(n + 1);
	refl_rep *rep;
	lrpc_status st;
	int end = 1;

	ck_assert_ptr_nonnull(out);
	grpc__reflection__v1__server_reflection_request__pack(req, out);
	ck_assert_int_eq(lrpc_stream_write_raw(r->s, out, n, &st), LRPC_OK);
	free(out);
	ck_assert_msg(lrpc_stream_read_raw(r->s, r->buf, REPLY_MAX, &len, &end, &st) == LRPC_OK,
		      "%s", st.message);
	ck_assert_int_eq(end, 0);
	rep = grpc__reflection__v1__server_reflection_response__unpack(NULL, len, r->buf);
	ck_assert_ptr_nonnull(rep);
	/* The request comes back with it. */
	ck_assert_ptr_nonnull(rep->original_request);
	ck_assert_int_eq(rep->original_request->message_request_case, req->message_request_case);
	return rep;
}

#define REQ_CASE(c) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##c
#define REP_CASE(c) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##c

static refl_rep *ask_str(struct refl *r, int which, const char *arg)
{
	refl_req req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;

	req.host = (char *)"localhost";
	req.message_request_case = which;
	switch (which) {
	case REQ_CASE(FILE_BY_FILENAME): req.file_by_filename = (char *)arg; break;
	case REQ_CASE(FILE_CONTAINING_SYMBOL): req.file_containing_symbol = (char *)arg; break;
	case REQ_CASE(ALL_EXTENSION_NUMBERS_OF_TYPE):
		req.all_extension_numbers_of_type = (char *)arg;
		break;
	case REQ_CASE(LIST_SERVICES): req.list_services = (char *)arg; break;
	default: ck_abort();
	}
	return ask(r, &req);
}

static refl_rep *ask_ext(struct refl *r, const char *type, int32_t number)
{
	refl_req req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
	Grpc__Reflection__V1__ExtensionRequest ext =
		GRPC__REFLECTION__V1__EXTENSION_REQUEST__INIT;

	ext.containing_type = (char *)type;
	ext.extension_number = number;
	req.message_request_case = REQ_CASE(FILE_CONTAINING_EXTENSION);
	req.file_containing_extension = &ext;
	return ask(r, &req);
}

static bool lists(const refl_rep *rep, const char *service)
{
	for (size_t i = 0; i < rep->list_services_response->n_service; i++)
		if (!strcmp(rep->list_services_response->service[i]->name, service))
			return true;
	return false;
}

static void list_services(bool alpha)
{
	static const char *const want[] = {
		"grpc.reflection.v1.ServerReflection",
		"grpc.reflection.v1alpha.ServerReflection",
		"grpc.health.v1.Health", "lrpcstd.Catalog", "lrpcstd.Control",
		"lazyrpc.stats.v1.Stats",
	};
	struct refl r;
	refl_rep *rep;

	refl_begin(&r, alpha);
	rep = ask_str(&r, REQ_CASE(LIST_SERVICES), "");
	ck_assert_int_eq(rep->message_response_case, REP_CASE(LIST_SERVICES_RESPONSE));
	ck_assert_str_eq(rep->valid_host, "localhost");
	ck_assert_uint_eq(rep->list_services_response->n_service, 6);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(lists(rep, want[i]), "%s not listed", want[i]);
	done(rep);
	refl_end(&r);
}

START_TEST(reflection_list_services)
{
	list_services(false);
}
END_TEST

START_TEST(reflection_v1alpha_list_services)
{
	list_services(true);
}
END_TEST

/*
 * A file response holds the file asked for first, then each file it
 * imports, directly or not, once: \p names, in that order.
 */
static void expect_files(const refl_rep *rep, const char *const *names, size_t n)
{
	const Grpc__Reflection__V1__FileDescriptorResponse *f;

	ck_assert_int_eq(rep->message_response_case, REP_CASE(FILE_DESCRIPTOR_RESPONSE));
	f = rep->file_descriptor_response;
	ck_assert_uint_eq(f->n_file_descriptor_proto, n);
	for (size_t i = 0; i < n; i++) {
		Google__Protobuf__FileDescriptorProto *fd =
			google__protobuf__file_descriptor_proto__unpack(
				NULL, f->file_descriptor_proto[i].len,
				f->file_descriptor_proto[i].data);

		ck_assert_ptr_nonnull(fd);
		ck_assert_str_eq(fd->name, names[i]);
		google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
	}
}

/* The file declaring a symbol comes first, its imports after. */
static void expect_first_file(const refl_rep *rep, const char *name)
{
	const Grpc__Reflection__V1__FileDescriptorResponse *f;
	Google__Protobuf__FileDescriptorProto *fd;

	ck_assert_int_eq(rep->message_response_case, REP_CASE(FILE_DESCRIPTOR_RESPONSE));
	f = rep->file_descriptor_response;
	ck_assert_uint_ge(f->n_file_descriptor_proto, 1);
	fd = google__protobuf__file_descriptor_proto__unpack(
		NULL, f->file_descriptor_proto[0].len, f->file_descriptor_proto[0].data);
	ck_assert_ptr_nonnull(fd);
	ck_assert_str_eq(fd->name, name);
	google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
}

/* Its imports, then theirs (kinds.proto's descriptor.proto). */
static const char *const catalog_files[] = {
	"catalog.proto", "google/protobuf/empty.proto", "kinds.proto",
	"google/protobuf/descriptor.proto",
};
#define N_CATALOG_FILES (sizeof(catalog_files) / sizeof(catalog_files[0]))

static void expect_error(const refl_rep *rep, lrpc_code code)
{
	ck_assert_int_eq(rep->message_response_case, REP_CASE(ERROR_RESPONSE));
	ck_assert_int_eq(rep->error_response->error_code, code);
	ck_assert_ptr_nonnull(strstr(rep->error_response->error_message, "not found"));
}

START_TEST(reflection_files_and_symbols)
{
	static const struct {
		const char *symbol;
		const char *file;
	} symbols[] = {
		{ "lrpcstd.Catalog", "catalog.proto" },         /* service */
		{ "lrpcstd.Catalog.Lookup", "catalog.proto" },  /* method */
		{ "lrpcstd.Item", "catalog.proto" },            /* message */
		{ "lrpcstd.Item.Key", "catalog.proto" },        /* nested message */
		{ "lrpcstd.Item.Shelf", "catalog.proto" },      /* nested enum */
		{ "lrpcstd.Kind", "kinds.proto" },              /* enum of an import */
		{ "lrpcstd.Stamp", "kinds.proto" },
		{ "lrpcstd.Stamp.at", "kinds.proto" },          /* field */
		{ "lrpcstd.Item.shelf", "catalog.proto" },      /* field */
		{ "lrpcstd.BOOK", "kinds.proto" },   /* enum value: beside its enum */
		{ "lrpcstd.Item.TOP", "catalog.proto" },        /* nested one */
		{ "lrpcstd.shelf_label", "kinds.proto" },      /* extension */
		{ "google.protobuf.Empty", "google/protobuf/empty.proto" },
		{ "grpc.health.v1.Health.Watch", "grpc/health/v1/health.proto" },
		{ "grpc.health.v1.HealthCheckResponse.ServingStatus",
		  "grpc/health/v1/health.proto" },
	};
	static const char *const kinds[] = {
		"kinds.proto", "google/protobuf/descriptor.proto", "google/protobuf/empty.proto",
	};
	struct refl r;
	refl_rep *rep;

	refl_begin(&r, false);
	rep = ask_str(&r, REQ_CASE(FILE_BY_FILENAME), "catalog.proto");
	expect_files(rep, catalog_files, N_CATALOG_FILES);
	done(rep);
	rep = ask_str(&r, REQ_CASE(FILE_BY_FILENAME), "kinds.proto");
	expect_files(rep, kinds, 3);
	done(rep);
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		rep = ask_str(&r, REQ_CASE(FILE_CONTAINING_SYMBOL), symbols[i].symbol);
		expect_first_file(rep, symbols[i].file);
		done(rep);
	}
	/* What it does not know is an error response; the stream goes on. */
	rep = ask_str(&r, REQ_CASE(FILE_CONTAINING_SYMBOL), "lrpcstd.Nothing");
	expect_error(rep, LRPC_NOT_FOUND);
	done(rep);
	rep = ask_str(&r, REQ_CASE(FILE_CONTAINING_SYMBOL), "lrpcstd");
	expect_error(rep, LRPC_NOT_FOUND);
	done(rep);
	/* Enum values are not children of their enum (protobuf's scoping). */
	rep = ask_str(&r, REQ_CASE(FILE_CONTAINING_SYMBOL), "lrpcstd.Kind.BOOK");
	expect_error(rep, LRPC_NOT_FOUND);
	done(rep);
	rep = ask_str(&r, REQ_CASE(FILE_BY_FILENAME), "nothing.proto");
	expect_error(rep, LRPC_NOT_FOUND);
	done(rep);
	rep = ask_ext(&r, "google.protobuf.MessageOptions", 50001);
	expect_first_file(rep, "kinds.proto");
	done(rep);
	rep = ask_ext(&r, "google.protobuf.MessageOptions", 50002);
	expect_error(rep, LRPC_NOT_FOUND);
	done(rep);
	rep = ask_str(&r, REQ_CASE(ALL_EXTENSION_NUMBERS_OF_TYPE),
		      "google.protobuf.MessageOptions");
	ck_assert_int_eq(rep->message_response_case, REP_CASE(ALL_EXTENSION_NUMBERS_RESPONSE));
	ck_assert_uint_eq(rep->all_extension_numbers_response->n_extension_number, 1);
	ck_assert_int_eq(rep->all_extension_numbers_response->extension_number[0], 50001);
	done(rep);
	rep = ask_str(&r, REQ_CASE(ALL_EXTENSION_NUMBERS_OF_TYPE), "lrpcstd.Nothing");
	expect_error(rep, LRPC_NOT_FOUND);
	done(rep);
	rep = ask_str(&r, REQ_CASE(ALL_EXTENSION_NUMBERS_OF_TYPE), "lrpcstd.Item");
	ck_assert_int_eq(rep->message_response_case, REP_CASE(ALL_EXTENSION_NUMBERS_RESPONSE));
	ck_assert_str_eq(rep->all_extension_numbers_response->base_type_name, "lrpcstd.Item");
	ck_assert_uint_eq(rep->all_extension_numbers_response->n_extension_number, 0);
	done(rep);
	rep = ask_str(&r, REQ_CASE(FILE_BY_FILENAME), "catalog.proto");
	expect_files(rep, catalog_files, N_CATALOG_FILES);
	done(rep);
	refl_end(&r);
}
END_TEST

/* v1alpha's own file is v1alpha's, though v1's messages carry it. */
START_TEST(reflection_v1alpha_describes_itself)
{
	static const char *const alpha[] = { "grpc/reflection/v1alpha/reflection.proto" };
	struct refl r;
	refl_rep *rep;

	refl_begin(&r, true);
	rep = ask_str(&r, REQ_CASE(FILE_CONTAINING_SYMBOL),
		      "grpc.reflection.v1alpha.ServerReflection");
	expect_files(rep, alpha, 1);
	done(rep);
	rep = ask_str(&r, REQ_CASE(FILE_CONTAINING_SYMBOL), "lrpcstd.Item.Key");
	expect_files(rep, catalog_files, N_CATALOG_FILES);
	done(rep);
	refl_end(&r);
}
END_TEST

int main(void)
{
	const TTest *const all[] = {
		check_statuses, watch_follows_changes, watch_ends_at_stop, check_races_stop,
		reflection_list_services, reflection_v1alpha_list_services,
		reflection_files_and_symbols, reflection_v1alpha_describes_itself,
		stats_count_calls,
	};

	return h_run("std", all, (int)(sizeof(all) / sizeof(all[0])), 120);
}
