// SPDX-License-Identifier: MIT
/* What the asynchronous call-options tests share (async_md_calls.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "async_md_calls.h"
#include "probe.lrpc.h"

#define M_ECHO (&lrpctest__probe__service_desc.methods[0])

const unsigned char amd_blob[6] = { 0, 1, 0xff, '\n', 0x80, 0 };
_Atomic int amd_handled, amd_saw_cancel;
int amd_outstanding;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int held;      /* handlers holding */
static int saw;       /* handlers that saw their call cancelled */
static bool released; /* they may return */

/* Under lock: wait until *at >= n or 30 s pass (a safety net). */
static bool wait_count(const int *at, int n)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	while (*at < n && !pthread_cond_timedwait(&cond, &lock, &ts))
		;
	return *at >= n;
}

static bool counted(const int *at, int n)
{
	bool ok;

	pthread_mutex_lock(&lock);
	ok = wait_count(at, n);
	pthread_mutex_unlock(&lock);
	return ok;
}

bool amd_wait_held(int n)
{
	return counted(&held, n);
}

bool amd_wait_saw_cancel(int n)
{
	return counted(&saw, n);
}

void amd_release(void)
{
	pthread_mutex_lock(&lock);
	released = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* Hold until released or, with \p until_cancel, until the call is
 * cancelled: the server API has no notification, so look every 10 ms, as
 * a long handler would. \return whether it saw the cancel. */
static bool hold(lrpc_call *call, bool until_cancel)
{
	bool seen = false;

	pthread_mutex_lock(&lock);
	held++;
	pthread_cond_broadcast(&cond);
	while (!released && !seen) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&cond, &lock, &ts);
		seen = until_cancel && lrpc_call_cancelled(call);
	}
	if (seen) {
		saw++;
		atomic_fetch_add(&amd_saw_cancel, 1);
		pthread_cond_broadcast(&cond);
	}
	pthread_mutex_unlock(&lock);
	return seen;
}

static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	(void)user;
	atomic_fetch_add(&amd_handled, 1);
	rep->seq = req->seq;
	if (h_echo_metadata(call))
		return LRPC_INTERNAL;
	/* Given up on: its deadline may have passed here before the client's
	 * cq saw it, and then this answer comes first. */
	if ((req->seq == AMD_SEQ_HOLD || req->seq == AMD_SEQ_UNTIL_CANCEL) &&
	    hold(call, req->seq == AMD_SEQ_UNTIL_CANCEL))
		return lrpc_now() >= lrpc_call_deadline(call) ? LRPC_DEADLINE_EXCEEDED :
								LRPC_CANCELLED;
	if (req->seq == AMD_SEQ_FAIL) {
		lrpc_call_set_message(call, "thirteen");
		return LRPC_NOT_FOUND;
	}
	return LRPC_OK;
}

lrpc_server *amd_start(char *uri, size_t len, const lrpc_server_opts *o)
{
	static const Lrpctest__Probe_Handlers h = { .echo = echo };

	return h_server_start_opts(uri, len, "amd", &h, o);
}

void amd_on_reply(void *arg, lrpc_code code, ProtobufCMessage *rep,
		  const lrpc_status *st, lrpc_async *handle)
{
	struct amd_slot *s = arg;
	const lrpc_metadata *e;

	(void)handle;
	s->done++;
	s->code = code;
	snprintf(s->message, sizeof(s->message), "%s", st->message);
	if (rep) {
		ck_assert_uint_eq(((Lrpctest__EchoMsg *)rep)->seq, s->seq);
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	/* The lists are complete once the callback runs. */
	s->n_headers = lrpc_metadata_list_get(s->o.headers, NULL);
	s->n_trailers = lrpc_metadata_list_get(s->o.trailers, NULL);
	e = lrpc_metadata_list_find(s->o.headers, "x-trace-echo");
	if (e)
		snprintf(s->hdr_echo, sizeof(s->hdr_echo), "%.*s", (int)e->value_len,
			 (const char *)e->value);
	e = lrpc_metadata_list_find(s->o.trailers, "x-blob-echo-bin");
	s->blob_ok = e && e->value_len == s->blob_len &&
		     !memcmp(e->value, s->blob, s->blob_len);
	amd_outstanding--;
}

void amd_slot_blob(struct amd_slot *s, const unsigned char *blob, size_t len)
{
	s->blob = blob;
	s->blob_len = len;
	s->md[1] = (lrpc_metadata){ "x-blob-bin", blob, len };
}

void amd_slot_init(struct amd_slot *s, uint64_t seq)
{
	memset(s, 0, sizeof(*s));
	s->seq = seq;
	snprintf(s->trace, sizeof(s->trace), "trace-%llu", (unsigned long long)seq);
	s->md[0] = (lrpc_metadata){ "x-trace", s->trace, strlen(s->trace) };
	amd_slot_blob(s, amd_blob, sizeof(amd_blob));
	s->o.metadata = s->md;
	s->o.n_metadata = 2;
	ck_assert_int_eq(lrpc_metadata_list_new(&s->o.headers), 0);
	ck_assert_int_eq(lrpc_metadata_list_new(&s->o.trailers), 0);
}

void amd_slot_free(struct amd_slot *s)
{
	lrpc_metadata_list_free(s->o.headers);
	lrpc_metadata_list_free(s->o.trailers);
}

void amd_call(lrpc_channel *ch, lrpc_cq *cq, struct amd_slot *s, lrpc_deadline d,
	      lrpc_async **handle)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;

	req.seq = s->seq;
	ck_assert_int_eq(lrpc_channel_call_async_opts(ch, M_ECHO, &req.base, d, &s->o, cq,
						      amd_on_reply, s, handle),
			 0);
	amd_outstanding++;
}

void amd_run_all(lrpc_cq *cq)
{
	while (amd_outstanding > 0)
		ck_assert_int_ge(lrpc_cq_run(cq, lrpc_deadline_after_ms(60000), 0), 0);
}

void amd_finish(lrpc_cq *cq, lrpc_channel *ch, lrpc_server *s)
{
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
