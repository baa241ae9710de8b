/* SPDX-License-Identifier: MIT */
/*
 * lazyrpc: shared definitions of the public API.
 *
 * Two error channels, as in liburing and libuv:
 *  - setup calls (open, listen, register, ...) return 0 or a negative errno;
 *  - calls return an lrpc_code (gRPC canonical status codes) and, when the
 *    caller passes an lrpc_status, a human-readable message.
 * Library code never prints and never sets errno on purpose.
 */
#ifndef LAZYRPC_COMMON_H
#define LAZYRPC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LRPC_BUILDING_LIBRARY)
#define LRPC_API __attribute__((visibility("default")))
#else
#define LRPC_API
#endif

#define LRPC_VERSION_MAJOR 0
#define LRPC_VERSION_MINOR 6
#define LRPC_VERSION_PATCH 0

/* The canonical codes, with the same numbers as gRPC. X(NAME, value). */
#define LRPC_CODE_MAP(X)          \
	X(OK, 0)                  \
	X(CANCELLED, 1)           \
	X(UNKNOWN, 2)             \
	X(INVALID_ARGUMENT, 3)    \
	X(DEADLINE_EXCEEDED, 4)   \
	X(NOT_FOUND, 5)           \
	X(ALREADY_EXISTS, 6)      \
	X(PERMISSION_DENIED, 7)   \
	X(RESOURCE_EXHAUSTED, 8)  \
	X(FAILED_PRECONDITION, 9) \
	X(ABORTED, 10)            \
	X(OUT_OF_RANGE, 11)       \
	X(UNIMPLEMENTED, 12)      \
	X(INTERNAL, 13)           \
	X(UNAVAILABLE, 14)        \
	X(DATA_LOSS, 15)          \
	X(UNAUTHENTICATED, 16)

typedef enum lrpc_code {
#define LRPC__CODE_ENUM(name, val) LRPC_##name = val,
	LRPC_CODE_MAP(LRPC__CODE_ENUM)
#undef LRPC__CODE_ENUM
} lrpc_code;

#define LRPC_CODE_COUNT 17

/* Longest status message kept, including the terminating NUL. */
#define LRPC_STATUS_MSG_MAX 192

/*
 * The outcome of one call. Callers own it (usually on the stack); the
 * library fills it when a pointer is passed and leaves it alone otherwise.
 */
typedef struct lrpc_status {
	lrpc_code code;
	char message[LRPC_STATUS_MSG_MAX];
} lrpc_status;

/*
 * An absolute point in time on CLOCK_MONOTONIC, in nanoseconds. Deadlines
 * rather than timeouts, so that a server handling a call can pass what is
 * left of its caller's time on to the calls it makes itself.
 */
typedef int64_t lrpc_deadline;

/* Use the channel's default timeout (see lrpc_channel_opts). */
#define LRPC_DEADLINE_DEFAULT ((lrpc_deadline)0)

/*
 * TLS for grpcs:// (since 0.3.0): PEM files, read when the options are
 * given. A server needs cert_file and key_file; with ca_file set, it also
 * requires clients to present a certificate that ca_file verifies. A
 * client verifies the server with ca_file (NULL: the system's CAs) against
 * server_name (NULL: the URI's host), and presents cert_file and key_file
 * if set.
 */
typedef struct lrpc_tls_opts {
	const char *cert_file;   /* certificate chain, own certificate first */
	const char *key_file;    /* its private key */
	const char *ca_file;     /* certificates to verify the peer with */
	const char *server_name; /* client: the name to expect; server: unused */
	void *reserved[4];
} lrpc_tls_opts;

/*
 * Other users a process deals with over lrpc:// and unix:// (since 0.4.0):
 * a server admits their calls (lrpc_server_set_peer_acl) and a client
 * trusts their lrpc:// server (lrpc_channel_opts.trust), besides its own
 * effective uid (and, for a client, root). A peer passes if its uid is in
 * \p uids or its primary or a supplementary group (as SO_PEERCRED and
 * SO_PEERGROUPS report them, from when it connected or listened) is in
 * \p gids. At most LRPC_PEER_ACL_MAX of each. Copied when given: the
 * caller keeps the arrays.
 */
#define LRPC_PEER_ACL_MAX 64
typedef struct lrpc_peer_acl {
	const uid_t *uids;
	size_t n_uids;
	const gid_t *gids;
	size_t n_gids;
} lrpc_peer_acl;

/** \return "OK", "DEADLINE_EXCEEDED", ...; "?" for a value outside the map. */
LRPC_API const char *lrpc_code_name(lrpc_code code);

/** \return CLOCK_MONOTONIC now, in nanoseconds. */
LRPC_API lrpc_deadline lrpc_now(void);

/** \return the deadline \p ms milliseconds from now (saturating). */
LRPC_API lrpc_deadline lrpc_deadline_after_ms(int64_t ms);

#ifdef __cplusplus
}
#endif
#endif
