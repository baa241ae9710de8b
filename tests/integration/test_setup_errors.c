// SPDX-License-Identifier: MIT
/* Opening channels and setting up servers: every mistake gets its errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"

START_TEST(open_errors)
{
	lrpc_channel *c = (lrpc_channel *)&c;
	lrpc_channel_opts o;
	struct peer srv;

	h_dir_setup();
	ck_assert_int_eq(lrpc_channel_open("lrpc://nobody", NULL, &c), -ENOENT);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(lrpc_channel_open("unix:///nonexistent/x.sock", NULL, &c), -ENOENT);
	ck_assert_int_eq(lrpc_channel_open("lrpc://../x", NULL, &c), -EINVAL);
	ck_assert_int_eq(lrpc_channel_open("tcp://127.0.0.1:99999", NULL, &c), -EINVAL);
	ck_assert_int_eq(lrpc_channel_open("gopher://x", NULL, &c), -EPROTONOSUPPORT);
	ck_assert_int_eq(lrpc_channel_open(NULL, NULL, &c), -EINVAL);
	lrpc_channel_opts_init(&o);
	o.default_timeout_ms = -1;
	ck_assert_int_eq(lrpc_channel_open("lrpc://x", &o, &c), -EINVAL);

	h_probe_server(&srv, "errors", "1", NULL);
	lrpc_channel_opts_init(&o);
	o.handoff = "teleport";
	ck_assert_int_eq(lrpc_channel_open("lrpc://errors", &o, &c), -EPROTONOSUPPORT);
	o.handoff = "futex";
	ck_assert_int_eq(lrpc_channel_open("lrpc://errors", &o, &c), 0);
	ck_assert_str_eq(lrpc_channel_handoff(c), "futex");
	lrpc_channel_close(c);
	/* A server that died leaves its socket file; nobody listens there. */
	h_kill(&srv, SIGKILL);
	ck_assert_int_eq(lrpc_channel_open("lrpc://errors", NULL, &c), -ECONNREFUSED);
	/* ...and the next server takes the name over. */
	h_probe_server(&srv, "errors", "1", NULL);
	ck_assert_int_eq(lrpc_channel_open("lrpc://errors", NULL, &c), 0);
	lrpc_channel_close(c);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(server_setup_errors)
{
	lrpc_server *s;
	lrpc_server_opts o;
	lrpc_service_desc bad = lrpctest__probe__service_desc;
	static const Lrpctest__Probe_Handlers h = { 0 };
	char buf[300];

	h_dir_setup();
	lrpc_server_opts_init(&o);
	o.max_msg_size = LRPC_MAX_MSG_LIMIT + 1;
	ck_assert_int_eq(lrpc_server_new(&o, &s), -EINVAL);
	ck_assert_int_eq(lrpc_server_new(NULL, &s), 0);
	ck_assert_int_eq(lrpc_server_start(s), -EINVAL); /* nothing registered */
	bad.magic = 0;
	ck_assert_int_eq(lrpc_server_add_service(s, &bad, &h, NULL), -EINVAL);
	bad = lrpctest__probe__service_desc;
	bad.abi_version = 99;
	ck_assert_int_eq(lrpc_server_add_service(s, &bad, &h, NULL), -EINVAL);
	ck_assert_int_eq(lrpctest__probe__register(s, &h, NULL), 0);
	ck_assert_int_eq(lrpctest__probe__register(s, &h, NULL), -EEXIST);
	ck_assert_int_eq(lrpc_server_listen(s, "lrpc://a/b"), -EINVAL);
	ck_assert_int_eq(lrpc_server_listen(s, "ftp://x"), -EPROTONOSUPPORT);
	if (h_have_ipv4()) {
		ck_assert_int_eq(lrpc_server_listen(s, "tcp://127.0.0.1:0"), 0);
		ck_assert_int_eq(lrpc_server_listener_uri(s, 0, buf, sizeof(buf)), 0);
		ck_assert_msg(strncmp(buf, "tcp://127.0.0.1:", 16) == 0 &&
			      strcmp(buf, "tcp://127.0.0.1:0"), "bound uri %s", buf);
	} else {
		ck_assert_int_eq(lrpc_server_listen(s, "tcp://127.0.0.1:0"),
				 -EAFNOSUPPORT);
		ck_assert_int_eq(lrpc_server_listen(s, "lrpc://opts"), 0);
		ck_assert_int_eq(lrpc_server_listener_uri(s, 0, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, "lrpc://opts");
	}
	ck_assert_int_eq(lrpc_server_listener_uri(s, 1, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(lrpc_server_listener_uri(s, 0, buf, 8), -ENAMETOOLONG);
	lrpc_server_free(s);
}
END_TEST

START_TEST(address_in_use_is_refused)
{
	lrpc_server *s;
	struct peer srv;
	char uri[300];

	h_dir_setup();
	setenv("LRPC_TEST_TRANSPORT", h_have_ipv4() ? "tcp" : "unix", 1);
	h_probe_server(&srv, "busy", "1", NULL);
	snprintf(uri, sizeof(uri), "%s", srv.uri);
	ck_assert_int_eq(lrpc_server_new(NULL, &s), 0);
	ck_assert_int_eq(lrpc_server_listen(s, "lrpc://busy"), -EADDRINUSE);
	ck_assert_int_eq(lrpc_server_listen(s, uri), -EADDRINUSE);
	lrpc_server_free(s);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* Something that is not a socket where the name goes is named, not taken
 * for a live server. */
START_TEST(path_that_is_not_a_socket_is_named)
{
	const char *dir = h_dir_setup();
	lrpc_server *s;
	char path[300];

	snprintf(path, sizeof(path), "%s/data", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(lrpc_server_new(NULL, &s), 0);
	ck_assert_int_eq(lrpc_server_listen(s, "lrpc://data"), -EEXIST);
	ck_assert_msg(strstr(lrpc_server_error(s), path) &&
		      strstr(lrpc_server_error(s), "not a socket"),
		      "'%s'", lrpc_server_error(s));
	lrpc_server_free(s);
	/* ...and left alone. */
	ck_assert_int_eq(rmdir(path), 0);
}
END_TEST

START_TEST(silent_client_is_dropped)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *dir = h_dir_setup();
	struct pollfd p;
	struct peer srv;
	char b;
	int fd;

	h_probe_server(&srv, "quiet", "1", NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/quiet", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* Say nothing: the server hangs up once its hello timeout (5 s)
	 * passes, rather than holding the connection forever. */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 30000), 1);
	ck_assert_int_eq(read(fd, &b, 1), 0);
	close(fd);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("setup_errors", 60, open_errors, server_setup_errors, address_in_use_is_refused,
       path_that_is_not_a_socket_is_named, silent_client_is_dropped)
