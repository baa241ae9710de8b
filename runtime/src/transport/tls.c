// SPDX-License-Identifier: MIT
/*
 * TLS sessions on memory BIOs (OpenSSL): the transport moves ciphertext
 * between its socket and the session, and plaintext between the session
 * and nghttp2. TLS 1.2 at least, and ALPN "h2" both ways (gRPC over TLS
 * requires it: a peer that offers no h2 fails the handshake).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "transport/tls.h"

struct lrpc__tls_ctx {
	SSL_CTX *ssl;
};

struct lrpc__tls {
	SSL *ssl;
	BIO *in, *out; /* from the peer, to the peer */
	char error[160];
};

static const unsigned char alpn_h2[] = { 2, 'h', '2' };

/* OpenSSL's reason for what just failed, as ": reason" (or ""); the
 * thread's error queue is emptied for the next. */
static void reason_take(char *out, size_t len)
{
	unsigned long e = ERR_get_error();

	out[0] = '\0';
	if (e && len > 2) {
		out[0] = ':';
		out[1] = ' ';
		ERR_error_string_n(e, out + 2, len - 2);
	}
	ERR_clear_error();
}

static void why_set(char *why, size_t len, const char *what, const char *file)
{
	char reason[120];

	reason_take(reason, sizeof(reason));
	snprintf(why, len, "%s %s%s", what, file ? file : "", reason);
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl, (void)arg;
	for (unsigned int i = 0; i < inlen; i += 1u + in[i]) {
		if (in[i] == 2 && i + 3 <= inlen && memcmp(in + i + 1, "h2", 2) == 0) {
			*out = in + i + 1;
			*outlen = 2;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int ctx_new(const lrpc_tls_opts *o, bool server, struct lrpc__tls_ctx **out,
		   char *why, size_t why_len)
{
	struct lrpc__tls_ctx *c;
	SSL_CTX *ssl;

	*out = NULL;
	if (!o || (server && (!o->cert_file || !o->key_file)) ||
	    (!o->cert_file != !o->key_file)) {
		snprintf(why, why_len, "TLS needs both cert_file and key_file");
		return -EINVAL;
	}
	ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	c = calloc(1, sizeof(*c));
	if (!ssl || !c) {
		SSL_CTX_free(ssl);
		free(c);
		return -ENOMEM;
	}
	c->ssl = ssl;
	SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
	if (o->cert_file && SSL_CTX_use_certificate_chain_file(ssl, o->cert_file) != 1) {
		why_set(why, why_len, "certificate", o->cert_file);
		goto fail;
	}
	if (o->key_file) {
		if (SSL_CTX_use_PrivateKey_file(ssl, o->key_file, SSL_FILETYPE_PEM) != 1) {
			why_set(why, why_len, "private key", o->key_file);
			goto fail;
		}
		if (SSL_CTX_check_private_key(ssl) != 1) {
			why_set(why, why_len, "private key does not match", o->cert_file);
			goto fail;
		}
	}
	if (o->ca_file) {
		if (SSL_CTX_load_verify_locations(ssl, o->ca_file, NULL) != 1) {
			why_set(why, why_len, "CA certificates", o->ca_file);
			goto fail;
		}
	} else if (!server && SSL_CTX_set_default_verify_paths(ssl) != 1) {
		why_set(why, why_len, "the system's CA certificates", NULL);
		goto fail;
	}
	if (server) {
		if (o->ca_file)
			SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
					   NULL);
		SSL_CTX_set_alpn_select_cb(ssl, alpn_select, NULL);
	} else {
		SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_set_alpn_protos(ssl, alpn_h2, sizeof(alpn_h2)) != 0)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	lrpc__tls_ctx_free(c);
	return -EINVAL;
}

int lrpc__tls_ctx_server(const lrpc_tls_opts *o, struct lrpc__tls_ctx **out,
			 char *why, size_t why_len)
{
	return ctx_new(o, true, out, why, why_len);
}

int lrpc__tls_ctx_client(const lrpc_tls_opts *o, struct lrpc__tls_ctx **out,
			 char *why, size_t why_len)
{
	static const lrpc_tls_opts none;

	return ctx_new(o ? o : &none, false, out, why, why_len);
}

void lrpc__tls_ctx_free(struct lrpc__tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}

struct lrpc__tls *lrpc__tls_new(struct lrpc__tls_ctx *ctx, bool server, const char *host)
{
	struct lrpc__tls *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ssl = SSL_new(ctx->ssl);
	t->in = BIO_new(BIO_s_mem());
	t->out = BIO_new(BIO_s_mem());
	if (!t->ssl || !t->in || !t->out)
		goto fail;
	/* The BIOs are the session's from here on. */
	SSL_set_bio(t->ssl, t->in, t->out);
	if (server) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (host && (SSL_set_tlsext_host_name(t->ssl, host) != 1 ||
			     SSL_set1_host(t->ssl, host) != 1)) {
			lrpc__tls_free(t);
			return NULL;
		}
	}
	return t;
fail:
	BIO_free(t->in);
	BIO_free(t->out);
	SSL_free(t->ssl);
	free(t);
	return NULL;
}

void lrpc__tls_free(struct lrpc__tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl); /* and its BIOs */
	free(t);
}

int lrpc__tls_feed(struct lrpc__tls *t, const void *buf, size_t len)
{
	while (len) {
		int n = BIO_write(t->in, buf, len > INT32_MAX ? INT32_MAX : (int)len);

		if (n <= 0)
			return -ENOMEM;
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

static int failed(struct lrpc__tls *t, const char *what)
{
	char reason[120];

	reason_take(reason, sizeof(reason));
	snprintf(t->error, sizeof(t->error), "TLS %s failed%s", what, reason);
	return -EPROTO;
}

ssize_t lrpc__tls_read(struct lrpc__tls *t, void *buf, size_t cap)
{
	int n = SSL_read(t->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);

	if (n > 0)
		return n;
	switch (SSL_get_error(t->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE: /* memory BIOs: the output is taken later */
		if (SSL_is_init_finished(t->ssl) && !lrpc__tls_ready(t)) {
			snprintf(t->error, sizeof(t->error),
				 "TLS peer did not agree on h2 (ALPN)");
			return -EPROTO;
		}
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	default:
		return failed(t, SSL_is_init_finished(t->ssl) ? "read" : "handshake");
	}
}

int lrpc__tls_write(struct lrpc__tls *t, const void *buf, size_t len)
{
	while (len) {
		int n = SSL_write(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);

		if (n <= 0)
			return failed(t, "write");
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

size_t lrpc__tls_take(struct lrpc__tls *t, void *buf, size_t cap)
{
	int n = BIO_read(t->out, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);

	return n > 0 ? (size_t)n : 0;
}

size_t lrpc__tls_pending(const struct lrpc__tls *t)
{
	return BIO_ctrl_pending(t->out);
}

bool lrpc__tls_ready(const struct lrpc__tls *t)
{
	const unsigned char *proto;
	unsigned int len;

	if (!SSL_is_init_finished(t->ssl))
		return false;
	SSL_get0_alpn_selected(t->ssl, &proto, &len);
	return len == 2 && memcmp(proto, "h2", 2) == 0;
}

const char *lrpc__tls_error(const struct lrpc__tls *t)
{
	return t->error;
}
