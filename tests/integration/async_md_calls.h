/* SPDX-License-Identifier: MIT */
/*
 * What the tests of asynchronous calls with call options share
 * (async_md_calls.c): an in-process probe server whose Echo answers the
 * metadata (h_echo_metadata) and can hold or wait for its cancellation,
 * and slots, one per call, recording what each callback saw.
 */
#ifndef LRPC_TEST_ASYNC_MD_CALLS_H
#define LRPC_TEST_ASYNC_MD_CALLS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lazyrpc/async.h>

#include "harness.h"

#define AMD_SEQ_FAIL 13     /* the handler answers NOT_FOUND "thirteen" */
#define AMD_SEQ_HOLD 99     /* the handler waits for amd_release() */
#define AMD_SEQ_UNTIL_CANCEL 77 /* ... or for lrpc_call_cancelled() */

/* Echo handlers run so far; of the AMD_SEQ_UNTIL_CANCEL ones, those that
 * saw lrpc_call_cancelled(). */
extern _Atomic int amd_handled, amd_saw_cancel;

/* The -bin value slot_init() sends. */
extern const unsigned char amd_blob[6];

/* Wait (30 s at most: a safety net, not a timing) until \p n handlers
 * are holding (AMD_SEQ_HOLD or AMD_SEQ_UNTIL_CANCEL); \return whether
 * they were. */
bool amd_wait_held(int n);
/* The same until \p n handlers saw their call cancelled. */
bool amd_wait_saw_cancel(int n);
/* Let every holding handler return. */
void amd_release(void);

/* Start the probe server "amd" with \p o (NULL: defaults); \p uri gets
 * its address. */
lrpc_server *amd_start(char *uri, size_t len, const lrpc_server_opts *o);

/* One call: what it sent and what its callback saw. */
struct amd_slot {
	uint64_t seq;
	char trace[32];
	lrpc_metadata md[2];
	lrpc_call_opts o;
	const unsigned char *blob; /* the x-blob-bin value sent */
	size_t blob_len;
	int done;
	lrpc_code code;
	char message[LRPC_STATUS_MSG_MAX];
	/* read in the callback */
	char hdr_echo[32];
	size_t n_headers, n_trailers;
	bool blob_ok; /* x-blob-echo-bin came back as sent */
};

/* Callbacks still to run. */
extern int amd_outstanding;

/* Give \p s a trace of its own ("trace-SEQ"), amd_blob as x-blob-bin,
 * and fresh lists. */
void amd_slot_init(struct amd_slot *s, uint64_t seq);
/* Send \p blob (\p len bytes, kept by the caller until the callback) as
 * x-blob-bin instead. */
void amd_slot_blob(struct amd_slot *s, const unsigned char *blob, size_t len);
void amd_slot_free(struct amd_slot *s);
/* lrpc_channel_call_async_opts() of Echo(seq) with \p s's options, or
 * fail the test; counted in amd_outstanding. */
void amd_call(lrpc_channel *ch, lrpc_cq *cq, struct amd_slot *s, lrpc_deadline d,
	      lrpc_async **handle);
/* The callback amd_call() gives (for other starts of the same). */
void amd_on_reply(void *arg, lrpc_code code, ProtobufCMessage *rep,
		  const lrpc_status *st, lrpc_async *handle);
/* Run \p cq until no callback is outstanding. */
void amd_run_all(lrpc_cq *cq);
/* Free the cq (nothing outstanding), close the channel, free the server. */
void amd_finish(lrpc_cq *cq, lrpc_channel *ch, lrpc_server *s);

#endif
