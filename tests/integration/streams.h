/* SPDX-License-Identifier: MIT */
/*
 * lrpctest.Streams: streaming methods for the integration tests, over the
 * messages of probe.proto. Described by hand (streams.c) until the
 * generator emits streaming methods; the probe server serves it beside
 * lrpctest.Probe.
 *
 *   Sum    client-streaming: reads EchoMsg until the half-close; fails
 *          with DATA_LOSS unless their seq run 0, 1, 2, ...; replies
 *          seq = how many, payload = the last one's.
 *   Count  server-streaming: one EchoMsg (seq = n, reply_size = bytes),
 *          then writes n messages, seq 0..n-1, each reply_size bytes.
 *   Echo   bidirectional: writes back each message it reads, until the
 *          half-close; a message with seq UINT64_MAX ends it with ABORTED.
 *          Request metadata x-trace comes back as header x-trace-echo,
 *          x-blob-bin as trailer x-blob-echo-bin.
 *          With lrpctest_streams_on_cancel set, its cancel callback.
 */
#ifndef LRPC_TEST_STREAMS_H
#define LRPC_TEST_STREAMS_H

#include <lazyrpc/lazyrpc.h>

#include "probe.pb-c.h"

extern const lrpc_service_desc lrpctest_streams_desc;
extern const lrpc_method_desc *const lrpctest_streams_sum;
extern const lrpc_method_desc *const lrpctest_streams_count;
extern const lrpc_method_desc *const lrpctest_streams_echo;

/* Set before serving (in-process servers): Echo's handlers register it
 * with lrpc_call_on_cancel(), their lrpc_call as its argument, and fail
 * INTERNAL where that fails. */
extern void (*lrpctest_streams_on_cancel)(void *call);

/* Serve it on \p srv. \return what lrpc_server_add_service() returns. */
int lrpctest_streams_register(lrpc_server *srv);

#endif
