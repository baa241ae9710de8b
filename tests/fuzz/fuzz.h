/* SPDX-License-Identifier: MIT */
/*
 * What the libFuzzer harnesses share: the entry points (libFuzzer's, or
 * replay.c's main when the build has no libFuzzer), a real server to throw
 * input at, and the adapters, the only files that include runtime/src
 * headers, so that a move of those headers touches one file per harness.
 */
#ifndef LRPC_FUZZ_H
#define LRPC_FUZZ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <string.h>
#include <sys/types.h>

#include <lazyrpc/lazyrpc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant broke: say which, then abort (libFuzzer saves the input). */
_Noreturn void fz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fuzz_server.c: the Probe service (tests/integration/probe.proto) with
 * handlers that never block, on one URI; stopped and freed at exit. */
lrpc_server *fz_server(const char *uri, bool inline_handlers,
		       size_t max_msg, unsigned int receivers);
/* If set, fz_server() also registers what this adds (more services). */
extern int (*fz_server_register)(lrpc_server *srv);
/* "<runtime dir>/<name>-<pid><suffix>" into buf; the runtime dir is a
 * private one, made by the first of these calls. */
void fz_runtime_path(char *buf, size_t len, const char *name,
		     const char *suffix);
/* A channel to uri, closed at exit. */
lrpc_channel *fz_channel(const char *uri);
/* An Echo call through ch that must come back OK and intact. */
void fz_probe(lrpc_channel *ch, const char *what);
/* Consume k bytes of a harness's input into out. \return false, and
 * consume nothing, when fewer are left. */
static inline bool fz_take(const uint8_t **p, size_t *n, void *out, size_t k)
{
	if (*n < k)
		return false;
	memcpy(out, *p, k);
	*p += k;
	*n -= k;
	return true;
}
/* How long a harness waits for a server that makes no progress before it
 * calls it hung: far beyond any answer, only there to turn a hang into a
 * report. */
#define FZ_HANG_MS 10000
/* fuzz_poll.c: poll() for up to \p ms in all, going on after a signal;
 * \return what poll() does, 0 once the time is up. */
int fz_poll(struct pollfd *p, nfds_t n, int ms);

/* reflection_adapter.c: lazyrpc-std's reflection answers
 * (runtime/src/std/refl_answer.h). Index \p descs once; \return 0, -ENOMEM. */
int fz_reflection_init(const lrpc_service_desc *const *descs, size_t n);
/* Decode \p data as a ServerReflectionRequest as the server does and
 * answer it: the packed response (malloc'd, *out_len bytes, the request's
 * kind in *req_case), or NULL when it does not decode. */
uint8_t *fz_reflection_answer(const uint8_t *data, size_t len, size_t *out_len,
			      int *req_case);

/* frame_adapter.c: socket frames (runtime/src/frame.h). */
struct fz_frame {
	char kind; /* 0: a call or reply; else a stream frame's kind letter */
	uint32_t body_len;
	uint64_t call_id;
	uint32_t method_or_code;
	uint32_t msg_len;
	int64_t timeout_ns;
	bool call_md;    /* a request with call metadata (md_len bytes) */
	uint32_t md_len;
};
extern const size_t fz_frame_hdr; /* header bytes */
extern const size_t fz_frame_md_max; /* both response blocks, at most */
void fz_frame_put(unsigned char *hdr, const struct fz_frame *f);
/* \return 0, -EPROTO (bad magic or lengths), -EMSGSIZE (body > max_body),
 * as the server judges a header. */
int fz_frame_get(const unsigned char *hdr, size_t max_body,
		 struct fz_frame *f);
/* The same with a server's limit: max_msg payload bytes besides a call's
 * request metadata. */
int fz_frame_get_request(const unsigned char *hdr, size_t max_msg,
			 struct fz_frame *f);
/* A reply or END frame (\p len bytes, header included) to a request or
 * OPEN with call metadata, read as the client reads it: its response metadata taken into
 * lists. \return 0, -1 if the client refuses it (lengths or entries). */
int fz_reply_md(const unsigned char *frame, size_t len);

/* handshake_adapter.c: the lrpc:// control socket (runtime/src/ctlproto.h). */
extern const size_t fz_hello_size, fz_welcome_size;
/* A refusal's reason after the welcome is shorter than this. */
extern const size_t fz_refusal_max;
/* A hello that asks for hand-off handoff ("" for the best). */
void fz_hello_put(unsigned char *out, const char *handoff);
/* What the server must answer hello with: 0, a positive errno, or -1 for
 * "0 or EPROTONOSUPPORT" (a hand-off this machine may lack). */
int fz_hello_expect(const unsigned char *hello);
/* Check a welcome's magic and version. \return its status, -1 if it is not
 * a welcome; *nlanes and *region_size when the status is 0. */
int fz_welcome_get(const unsigned char *w, uint32_t *nlanes,
		   uint64_t *region_size);

/* lane_adapter.c: a hostile lrpc:// client's lane 0 (runtime/src/callctx.h,
 * ctlproto.h, handoff.h). */
struct fz_lane;
struct fz_lane_meta {
	uint64_t seq;
	int64_t deadline;        /* call only */
	uint32_t method_or_code; /* call: method id; reply: status code */
	uint32_t len;            /* request or reply bytes in the buffer */
	uint32_t md_len;         /* call: request metadata bytes after it */
};
/* Handshake on the control socket at ctl_path and map the region. */
struct fz_lane *fz_lane_connect(const char *ctl_path);
size_t fz_lane_buf_size(const struct fz_lane *l);
unsigned char *fz_lane_buf(struct fz_lane *l);
/* Write call's metadata, publish the CALL, wait for the hand-back until
 * wait_until and read the reply's metadata. \return 0, -ETIMEDOUT,
 * -EPROTO (the receiver was not waiting), -ECONNRESET. */
int fz_lane_call(struct fz_lane *l, const struct fz_lane_meta *call,
		 lrpc_deadline wait_until, struct fz_lane_meta *reply);

/* lane_adapter.c: a stream on lane 0 (runtime/src/wire/lane.h,
 * lane_ring.h): the client's view of its control block and rings. */
struct fz_stream {
	_Atomic uint64_t *c2s_tail, *c2s_head, *s2c_tail, *s2c_head, *end_seq;
	_Atomic uint32_t *cli_flags, *srv_bell, *cli_bell, *cli_sleepers;
	_Atomic int *cancel;
	uint32_t *end_code;
	unsigned char *c2s, *s2c; /* the rings, ring_size bytes each */
	uint64_t ring_size;
	uint32_t half_closed; /* the cli_flags bit */
};
void fz_lane_stream(struct fz_lane *l, struct fz_stream *s);
/* Open a stream on lane 0 (our indices reset) as call \p seq and wait for
 * the answer until \p wait_until. \return as fz_lane_call(); *code the
 * answer's status (UINT32_MAX when the reply is not the call's). */
int fz_lane_stream_open(struct fz_lane *l, uint64_t seq, uint32_t method,
			lrpc_deadline deadline, lrpc_deadline wait_until,
			uint32_t *code);
/* The same opened as a 0.6 client opens one with metadata: \p n bytes of
 * \p md at the buffer's start, md_len := \p md_len (a lie if not \p n);
 * *acked: the server answered that it read stream metadata. */
int fz_lane_stream_open_md(struct fz_lane *l, uint64_t seq, uint32_t method,
			   lrpc_deadline deadline, lrpc_deadline wait_until,
			   const uint8_t *md, size_t n, uint32_t md_len,
			   uint32_t *code, bool *acked);
/* A stream's metadata record from a hostile server, through the client's
 * parser (lrpc__md_list_from_rec) into two lists, freed again.
 * \return its return; *entries what the lists took. */
int fz_md_rec_parse(const uint8_t *rec, size_t n, size_t *entries);
/* Bytes a ring record of a \p len-byte message takes. */
uint64_t fz_ring_rec(uint64_t len);
/* Bump a bell and wake its sleepers; sleep on one (announced) while it
 * reads \p seen, at most \p ms. */
void fz_wake(_Atomic uint32_t *bell);
void fz_doze(_Atomic uint32_t *bell, _Atomic uint32_t *sleepers,
	     uint32_t seen, int ms);

/* welcome_adapter.c: the client's side of the lrpc:// handshake, met by a
 * hostile server (runtime/src/wire/handshake.h, lane.h, handoff/handoff.h). */
extern const size_t fz_wl_hello_size, fz_wl_size, fz_wl_lane_hdr;
enum fz_wl_fd { FZ_WL_FD_NONE, FZ_WL_FD_MEMFD, FZ_WL_FD_PIPE, FZ_WL_FD_NULL };
#define FZ_WL_ANY 1 /* fz_wl_expect(): either way is right */
bool fz_wl_hello_ok(const unsigned char *hello);
uint64_t fz_wl_region_size(const unsigned char *welcome);
uint64_t fz_wl_buf_size(const unsigned char *welcome);
uint32_t fz_wl_nlanes(const unsigned char *welcome);
/* What lrpc_channel_open() must return for the first \p sent bytes of
 * welcome (one message, descriptor \p fd attached, a memfd of \p fd_size
 * bytes, \p sealed against shrinking), the server hanging up after it or
 * not: 0, -errno, or FZ_WL_ANY. */
int fz_wl_expect(const unsigned char *welcome, size_t sent, bool hangup,
		 enum fz_wl_fd fd, bool sealed, uint64_t fd_size);
/* Make a region's first lane (at least fz_wl_lane_hdr bytes) callable. */
void fz_wl_lane_init(void *lane0);
struct fz_wl_reply {
	bool seq_given; /* reply with seq, else with the call's */
	uint64_t seq;
	uint32_t code, len;
	const unsigned char *message; /* LRPC_STATUS_MSG_MAX bytes */
	const unsigned char *body;    /* body_len bytes into the buffer */
	size_t body_len;
};
/* Serve one call on lane 0 as a receiver would, if one comes by \p until
 * and before fz_wl_kick(); \p before_reply (may be NULL) runs between
 * taking it and answering. \return whether one came and was answered. */
bool fz_wl_answer(void *lane0, const struct fz_wl_reply *r,
		  lrpc_deadline until, void (*before_reply)(void));
/* Make fz_wl_answer() on lane 0 return now if it has no call. */
void fz_wl_kick(void *lane0);

/* grpc_adapter.c: gRPC's wire pieces (runtime/src/wire/grpc.h). */
extern const size_t fz_grpc_prefix;
int fz_grpc_timeout_parse(const char *v, size_t len, int64_t *ns);
size_t fz_grpc_timeout_format(int64_t ns, char *out);
size_t fz_grpc_pct_encode(const char *in, size_t len, char *out, size_t cap);
size_t fz_grpc_pct_decode(const char *in, size_t len, char *out, size_t cap);
struct fz_msgq;
struct fz_msgq *fz_msgq_new(size_t max);
void fz_msgq_free(struct fz_msgq *m);
int fz_msgq_push(struct fz_msgq *m, const void *p, size_t n);
/* 1: a message, 0: partial, -1: too big, -2: compressed (wire/grpc.h). */
int fz_msgq_next(struct fz_msgq *m, const unsigned char **msg, size_t *len);
void fz_msgq_pop(struct fz_msgq *m);
size_t fz_msgq_len(const struct fz_msgq *m);
/* -bin metadata values (wire/grpc.h). */
size_t fz_grpc_b64_encode(const void *in, size_t len, char *out);
ssize_t fz_grpc_b64_decode(const char *in, size_t len, unsigned char *out);
/* A request's metadata as grpc:// collects it (transport/grpc_md.h). */
extern const size_t fz_md_max; /* LRPC_METADATA_MAX */
struct fz_md;
struct fz_md *fz_md_new(void);
int fz_md_add(struct fz_md *m, const uint8_t *name, size_t nlen,
	      const uint8_t *value, size_t vlen);
int fz_md_finish(struct fz_md *m, const char **bad);
size_t fz_md_count(const struct fz_md *m);
void fz_md_at(const struct fz_md *m, size_t i, const char **key,
	      const void **value, size_t *len);
void fz_md_free(struct fz_md *m);

#endif
