/* SPDX-License-Identifier: MIT */
/* Which other users' processes a server admits or a client trusts. */
#ifndef LRPC_CORE_PEER_ACL_H
#define LRPC_CORE_PEER_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include <lazyrpc/common.h>

struct ucred; /* <sys/socket.h>, with _GNU_SOURCE */

/*
 * A copy of \p in in one allocation, or *out = NULL for NULL or an empty
 * list. The caller frees *out with free().
 * \return 0, -EINVAL (over LRPC_PEER_ACL_MAX, or a count without its
 * array), -ENOMEM.
 */
int lrpc__peer_acl_dup(const lrpc_peer_acl *in, lrpc_peer_acl **out);

/* Is \p gid one of \p acl's groups? \p acl may be NULL. */
bool lrpc__peer_acl_has_gid(const lrpc_peer_acl *acl, gid_t gid);

/*
 * May the process at the other end of unix socket \p fd be dealt with:
 * it runs as our effective uid, as root if \p root_ok, or \p acl (NULL:
 * nobody else) lets it in? *cred is its SO_PEERCRED either way.
 * \return 0 (yes), -EACCES (no), -errno (it could not be learnt).
 */
int lrpc__peer_acl_check(const lrpc_peer_acl *acl, int fd, bool root_ok,
			 struct ucred *cred);

#endif
