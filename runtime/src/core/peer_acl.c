// SPDX-License-Identifier: MIT
/*
 * The peer ACL: uids and groups besides our own. Groups come from the
 * socket (SO_PEERGROUPS), as the peer's credentials do, not from /etc/group
 * or /proc: a process that dropped a group before it connected has dropped
 * it for us too, and nothing can change between the check and the call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/peer_acl.h"

int lrpc__peer_acl_dup(const lrpc_peer_acl *in, lrpc_peer_acl **out)
{
	lrpc_peer_acl *a;
	uid_t *uids;
	gid_t *gids;

	*out = NULL;
	if (!in || (!in->n_uids && !in->n_gids))
		return 0;
	if (in->n_uids > LRPC_PEER_ACL_MAX || in->n_gids > LRPC_PEER_ACL_MAX ||
	    (in->n_uids && !in->uids) || (in->n_gids && !in->gids))
		return -EINVAL;
	a = malloc(sizeof(*a) + in->n_uids * sizeof(uid_t) +
		   in->n_gids * sizeof(gid_t));
	if (!a)
		return -ENOMEM;
	uids = (uid_t *)(a + 1);
	gids = (gid_t *)(uids + in->n_uids);
	if (in->n_uids)
		memcpy(uids, in->uids, in->n_uids * sizeof(uid_t));
	if (in->n_gids)
		memcpy(gids, in->gids, in->n_gids * sizeof(gid_t));
	*a = (lrpc_peer_acl){ .uids = uids, .n_uids = in->n_uids,
			      .gids = gids, .n_gids = in->n_gids };
	*out = a;
	return 0;
}

bool lrpc__peer_acl_has_gid(const lrpc_peer_acl *acl, gid_t gid)
{
	for (size_t i = 0; acl && i < acl->n_gids; i++)
		if (acl->gids[i] == gid)
			return true;
	return false;
}

static bool has_uid(const lrpc_peer_acl *acl, uid_t uid)
{
	for (size_t i = 0; acl && i < acl->n_uids; i++)
		if (acl->uids[i] == uid)
			return true;
	return false;
}

/* Is one of the peer's supplementary groups in \p acl? The list is as
 * long as the peer's (NGROUPS_MAX at most): asked for again at its size
 * when the first guess is short. */
static int groups_admitted(const lrpc_peer_acl *acl, int fd)
{
	gid_t some[64], *g = some;
	socklen_t len = sizeof(some);
	int ret = -EACCES;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		if (errno != ERANGE)
			return -errno;
		g = malloc(len);
		if (!g)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
			ret = -errno;
			free(g);
			return ret;
		}
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (lrpc__peer_acl_has_gid(acl, g[i]))
			ret = 0;
	if (g != some)
		free(g);
	return ret;
}

int lrpc__peer_acl_check(const lrpc_peer_acl *acl, int fd, bool root_ok,
			 struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
		return -errno;
	if (cred->uid == geteuid() || (root_ok && cred->uid == 0) ||
	    has_uid(acl, cred->uid) || lrpc__peer_acl_has_gid(acl, cred->gid))
		return 0;
	if (!acl || !acl->n_gids)
		return -EACCES;
	return groups_admitted(acl, fd);
}
