/* SPDX-License-Identifier: MIT */
/*
 * The protoc plugin protocol: a CodeGeneratorRequest on stdin, a
 * CodeGeneratorResponse on stdout. Problems in the user's .proto go into
 * the response's error field (protoc prints it and fails); problems of our
 * own (I/O, memory, a malformed request) exit non-zero via rpcgen_die().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpcgen.h"

#define FEATURE_PROTO3_OPTIONAL 1u

/* protoc writes the whole request and closes the pipe; read to EOF. */
static uint8_t *read_all(int fd, size_t *len)
{
	size_t cap = 64 << 10, n = 0;
	uint8_t *buf = malloc(cap);

	if (!buf)
		rpcgen_die("out of memory");
	for (;;) {
		if (n == cap) {
			uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);

			if (!nb)
				rpcgen_die("out of memory reading the request");
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rpcgen_die("reading the request: %s", strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

static void write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			rpcgen_die("writing the response: %s", strerror(errno));
		p += w;
		len -= (size_t)w;
	}
}

const pb_file *rpcgen_find_file(const pb_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_proto_file; i++)
		if (req->proto_file[i]->name && strcmp(req->proto_file[i]->name, name) == 0)
			return req->proto_file[i];
	return NULL;
}

typedef Google__Protobuf__Compiler__CodeGeneratorResponse pb_response;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse__File pb_out_file;

static void add_output(pb_response *rsp, const char *name, strbuf *content)
{
	pb_out_file *f = rpcgen_alloc(sizeof(*f));

	google__protobuf__compiler__code_generator_response__file__init(f);
	f->name = (char *)name;
	f->content = rpcgen_strdup(content->len ? content->buf : "");
	rsp->file[rsp->n_file++] = f;
}

/*
 * Fill \p rsp for every file protoc asked for. All files are checked
 * before any is emitted, so a failing run never yields half the outputs.
 */
static void generate(const pb_request *req, pb_response *rsp)
{
	type_index ti;
	const pb_file **files = rpcgen_alloc((req->n_file_to_generate + 1) * sizeof(*files));

	if (req->parameter && *req->parameter) {
		rsp->error = rpcgen_asprintf("protoc-gen-lazyrpc takes no options (got '%s')",
					     req->parameter);
		return;
	}
	types_build(&ti, req);
	for (size_t i = 0; i < req->n_file_to_generate; i++) {
		files[i] = rpcgen_find_file(req, req->file_to_generate[i]);
		if (!files[i])
			rpcgen_die("request names %s but does not describe it",
				   req->file_to_generate[i]);
		rsp->error = check_file(files[i], req, &ti);
		if (rsp->error)
			return;
	}
	rsp->file = rpcgen_alloc((2 * req->n_file_to_generate + 1) * sizeof(*rsp->file));
	for (size_t i = 0; i < req->n_file_to_generate; i++) {
		const char *stem = name_strip_proto(files[i]->name);
		strbuf h = { 0 }, c = { 0 };

		emit_file(files[i], req, &ti, &h, &c);
		add_output(rsp, rpcgen_asprintf("%s.lrpc.h", stem), &h);
		add_output(rsp, rpcgen_asprintf("%s.lrpc.c", stem), &c);
		sb_free(&h);
		sb_free(&c);
	}
}

int rpcgen_run(int in_fd, int out_fd)
{
	size_t len;
	uint8_t *buf = read_all(in_fd, &len);
	pb_request *req = google__protobuf__compiler__code_generator_request__unpack(NULL, len, buf);
	pb_response rsp = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__INIT;

	free(buf);
	if (!req)
		rpcgen_die("stdin is not a CodeGeneratorRequest (run me through protoc)");
	rsp.has_supported_features = 1;
	rsp.supported_features = FEATURE_PROTO3_OPTIONAL;
	generate(req, &rsp);
	if (rsp.error) {
		/* protoc ignores files when error is set; send none. */
		rsp.n_file = 0;
	}

	size_t out_len = google__protobuf__compiler__code_generator_response__get_packed_size(&rsp);
	uint8_t *out = malloc(out_len ? out_len : 1);
	if (!out)
		rpcgen_die("out of memory");
	google__protobuf__compiler__code_generator_response__pack(&rsp, out);
	write_all(out_fd, out, out_len);
	free(out);
	google__protobuf__compiler__code_generator_request__free_unpacked(req, NULL);
	return 0;
}
