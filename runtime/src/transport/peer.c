// SPDX-License-Identifier: MIT
/* What a server learns of a connected client, for lrpc_call_peer(). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/transport.h"

void lrpc__peer_creds(uv_handle_t *handle, lrpc_peer *out)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	out->has_cred = uv_fileno(handle, &fd) == 0 &&
			getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
	if (out->has_cred) {
		out->pid = cred.pid;
		out->uid = cred.uid;
		out->gid = cred.gid;
	}
}

void lrpc__peer_address(const uv_tcp_t *tcp, lrpc_peer *out)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "";

	out->address[0] = '\0';
	if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out->address, sizeof(out->address), "%s:%u", host,
			 ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out->address, sizeof(out->address), "[%s]:%u", host,
			 ntohs(a->sin6_port));
	}
}
