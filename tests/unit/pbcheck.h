/* SPDX-License-Identifier: MIT */
/*
 * What test_pbdecode and the decoder fuzzer both need to judge a decode: a
 * plain wire scanner, the deliberate differences from protobuf-c 1.4.1 (see
 * pbdecode.c) that an input triggers, and a check that no unknown field was
 * kept.
 */
#ifndef LRPC_TEST_PBCHECK_H
#define LRPC_TEST_PBCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* One field at p as protobuf-c would delimit it. \return its length, 0 if
 * bad; *off, *n: a length-delimited payload. */
size_t pbt_scan_field(const uint8_t *p, size_t len, uint32_t *tag,
		      unsigned *wt, bool *multi, size_t *off, size_t *n);

enum {
	Q_TAG0 = 1,     /* multi-byte tag 0: protobuf-c accepts, we reject */
	Q_BOOL = 2,     /* bool, wire type not varint: likewise */
	Q_DEPTH = 4,    /* too deep: likewise */
	Q_DUPMSG = 8,   /* singular sub-message twice: merged differently */
	Q_DUPONEOF = 16, /* ...of a type with a oneof: protobuf-c may fail */
	Q_STRICTER = Q_TAG0 | Q_BOOL | Q_DEPTH,
	Q_LAXER = Q_DUPONEOF,
};

/* The Q_ differences that input p triggers, as far as protobuf-c would
 * parse it, for a message of type desc at the given depth (0: top). The
 * memory budget is not among them: lrpc__pb_decode() says E2BIG. */
unsigned pbt_quirks(const ProtobufCMessageDescriptor *desc, const uint8_t *p,
		    size_t len, unsigned depth);

/* Whether m and every sub-message in it have no unknown field. */
bool pbt_no_unknown(const ProtobufCMessage *m);

#endif
