// SPDX-License-Identifier: MIT
/* grpcs:// setup: every mistake with certificates gets its errno and a
 * message that names the file. Certificates are made with openssl. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lazyrpc/lazyrpc.h>

#include "check_main.h"
#include "grpc/testing/test.lrpc.h"

static char dir[] = "/tmp/lrpc-tls-XXXXXX";
static char cert[300], key[300], other_key[300], junk[300];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

static void make_files(void)
{
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(other_key, sizeof(other_key), "%s/other.pem", dir);
	snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	   "-keyout %s -out %s -days 1 -subj /CN=localhost 2>/dev/null", key, cert);
	sh("openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 "
	   "-out %s 2>/dev/null", other_key);
	f = fopen(junk, "w");
	ck_assert_ptr_nonnull(f);
	fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", f);
	fclose(f);
}

static lrpc_server *server(void)
{
	static const Grpc__Testing__TestService_Handlers h = { 0 };
	lrpc_server *s;

	ck_assert_int_eq(lrpc_server_new(NULL, &s), 0);
	ck_assert_int_eq(grpc__testing__test_service__register(s, &h, NULL), 0);
	return s;
}

START_TEST(certificates_are_checked_when_given)
{
	lrpc_tls_opts o = { 0 };
	lrpc_server *s;

	make_files();
	s = server();
	ck_assert_int_eq(lrpc_server_set_tls(s, NULL), -EINVAL);
	o.cert_file = cert;
	ck_assert_int_eq(lrpc_server_set_tls(s, &o), -EINVAL); /* no key */
	ck_assert_ptr_nonnull(strstr(lrpc_server_error(s), "key_file"));
	o.key_file = key;
	o.cert_file = "/nonexistent/cert.pem";
	ck_assert_int_eq(lrpc_server_set_tls(s, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(lrpc_server_error(s), "/nonexistent/cert.pem"));
	o.cert_file = junk;
	ck_assert_int_eq(lrpc_server_set_tls(s, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(lrpc_server_error(s), junk));
	o.cert_file = cert;
	o.key_file = other_key;
	ck_assert_int_eq(lrpc_server_set_tls(s, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(lrpc_server_error(s), other_key));
	ck_assert_ptr_nonnull(strstr(lrpc_server_error(s), "mismatch"));
	o.key_file = key;
	o.ca_file = "/nonexistent/ca.pem";
	ck_assert_int_eq(lrpc_server_set_tls(s, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(lrpc_server_error(s), "/nonexistent/ca.pem"));
	o.ca_file = NULL;
	ck_assert_int_eq(lrpc_server_set_tls(s, &o), 0);
	ck_assert_int_eq(lrpc_server_set_tls(s, &o), 0); /* replaces */
	ck_assert_int_eq(lrpc_server_listen(s, "grpcs://127.0.0.1:0"), 0);
	ck_assert_int_eq(lrpc_server_start(s), 0);
	ck_assert_int_eq(lrpc_server_set_tls(s, &o), -EBUSY);
	lrpc_server_free(s);
	sh("rm -rf %s", dir);
}
END_TEST

START_TEST(grpcs_needs_a_certificate)
{
	lrpc_server *s = server();

	ck_assert_int_eq(lrpc_server_listen(s, "grpcs://127.0.0.1:0"), -ENOKEY);
	ck_assert_ptr_nonnull(strstr(lrpc_server_error(s), "lrpc_server_set_tls"));
	lrpc_server_free(s);
}
END_TEST

/* A grpcs:// channel to \p uri with \p o: 0, or the errno with *st. */
static int open_tls(const char *uri, const lrpc_tls_opts *o, lrpc_channel **ch,
		    lrpc_status *st)
{
	lrpc_channel_opts co;

	lrpc_channel_opts_init(&co);
	co.open_status = st;
	co.tls = o;
	co.connect_timeout_ms = 10000;
	return lrpc_channel_open(uri, &co, ch);
}

START_TEST(grpcs_channels_verify_the_server)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *rep = NULL;
	lrpc_tls_opts so = { 0 }, co = { 0 };
	lrpc_status st = { 0 };
	lrpc_channel *ch;
	lrpc_server *s;
	char uri[300];

	make_files();
	s = server();
	so.cert_file = cert;
	so.key_file = key;
	ck_assert_int_eq(lrpc_server_set_tls(s, &so), 0);
	ck_assert_int_eq(lrpc_server_listen(s, "grpcs://127.0.0.1:0"), 0);
	ck_assert_int_eq(lrpc_server_start(s), 0);
	ck_assert_int_eq(lrpc_server_listener_uri(s, 0, uri, sizeof(uri)), 0);

	/* The system's CAs do not know the self-signed certificate. */
	ck_assert_int_lt(open_tls(uri, NULL, &ch, &st), 0);
	ck_assert_int_eq(st.code, LRPC_UNAVAILABLE);
	ck_assert_msg(strstr(st.message, "TLS handshake") && strstr(st.message, "certificate"),
		      "%s", st.message);
	/* The right CA, but the certificate is localhost's, not 127.0.0.1's. */
	co.ca_file = cert;
	memset(&st, 0, sizeof(st));
	ck_assert_int_lt(open_tls(uri, &co, &ch, &st), 0);
	ck_assert_int_eq(st.code, LRPC_UNAVAILABLE);
	ck_assert_msg(strstr(st.message, "TLS handshake with 127.0.0.1"), "%s", st.message);
	/* A CA file that is not there: said before connecting. */
	co.ca_file = "/nonexistent/ca.pem";
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(open_tls(uri, &co, &ch, &st), -EINVAL);
	ck_assert_ptr_nonnull(strstr(st.message, "/nonexistent/ca.pem"));
	/* The right CA and name: calls reach the server (which implements
	 * nothing) and come back. */
	co.ca_file = cert;
	co.server_name = "localhost";
	memset(&st, 0, sizeof(st));
	ck_assert_msg(open_tls(uri, &co, &ch, &st) == 0, "%s", st.message);
	ck_assert_int_eq(grpc__testing__test_service__empty_call__call(
				 ch, &req, &rep, lrpc_deadline_after_ms(10000), &st),
			 LRPC_UNIMPLEMENTED);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
	sh("rm -rf %s", dir);
}
END_TEST

int main(void)
{
	const TTest *const t[] = { certificates_are_checked_when_given,
				   grpcs_needs_a_certificate,
				   grpcs_channels_verify_the_server };

	if (system("command -v openssl >/dev/null") != 0) {
		printf("SKIP: openssl is not installed\n");
		return 77;
	}
	return check_run("tls_setup", t, 3, 60);
}
