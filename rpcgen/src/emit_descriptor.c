/* SPDX-License-Identifier: MIT */
/*
 * The file's own google.protobuf.FileDescriptorProto, serialized into
 * x.lrpc.c as a byte array that every service description of the file
 * points at (lrpc_service_desc.file_descriptor): what reflection and
 * tools need to know the file's messages and methods without the .proto.
 * It is protoc's description as the plugin received it, minus the
 * source_code_info (comments and spans, which protoc sends only to
 * plugins and which would double the size), as gRPC's reflection serves it.
 *
 * Beside it go the files it imports, directly or not, each once and each
 * before the files that import it (lrpc_service_desc.dependencies): a
 * reflection client follows imports by name, and nothing else in a
 * program may hold them (google/protobuf/empty.proto, a messages-only
 * file). protoc gives the plugin every one of them.
 */
#include <stdlib.h>
#include <string.h>

#include "rpcgen.h"

#define BYTES_PER_LINE 12

/* \p file's serialized descriptor as C initialiser lines; its length in
 * *len. */
static char *descriptor_bytes(const pb_file *file, size_t *len_out)
{
	pb_file bare = *file; /* a shallow copy: pack only reads it */
	size_t len;
	uint8_t *buf;
	strbuf hex = { 0 };
	char *out;

	bare.source_code_info = NULL;
	len = google__protobuf__file_descriptor_proto__get_packed_size(&bare);
	buf = malloc(len ? len : 1);
	if (!buf)
		rpcgen_die("out of memory (%zu bytes)", len);
	google__protobuf__file_descriptor_proto__pack(&bare, buf);
	for (size_t i = 0; i < len; i++) {
		sb_puts(&hex, i % BYTES_PER_LINE ? " " : "\t");
		sb_puts(&hex, rpcgen_asprintf("0x%02x,", buf[i]));
		if (i % BYTES_PER_LINE == BYTES_PER_LINE - 1 || i + 1 == len)
			sb_puts(&hex, "\n");
	}
	free(buf);
	out = rpcgen_strdup(hex.len ? hex.buf : "");
	sb_free(&hex);
	*len_out = len;
	return out;
}

/* Depth first, imports before importers; out[0..*n) holds those so far. */
static void collect(const pb_request *req, const pb_file *file,
		    const pb_file **out, size_t *n)
{
	for (size_t i = 0; i < file->n_dependency; i++) {
		const pb_file *dep = rpcgen_find_file(req, file->dependency[i]);
		bool have = false;

		if (!dep)
			rpcgen_die("%s imports %s, which the request does not describe",
				   file->name, file->dependency[i]);
		for (size_t j = 0; j < *n && !have; j++)
			have = out[j] == dep;
		if (have)
			continue;
		collect(req, dep, out, n);
		out[(*n)++] = dep;
	}
}

static void emit_dependencies(printer *p, const pb_file *file,
			      const pb_request *req)
{
	const pb_file **deps = rpcgen_alloc((req->n_proto_file + 1) * sizeof(*deps));
	size_t n = 0, len;

	collect(req, file, deps, &n);
	for (size_t i = 0; i < n; i++) {
		printer_set(p, "dep", deps[i]->name);
		printer_set(p, "i", rpcgen_asprintf("%zu", i));
		printer_set(p, "fd_bytes", descriptor_bytes(deps[i], &len));
		printer_set(p, "fd_len", rpcgen_asprintf("%zu", len));
		printer_print(p,
			"/* google.protobuf.FileDescriptorProto of $dep$, which $proto$ imports. */\n"
			"static const uint8_t lrpc_gen_dependency_$i$_[$fd_len$] = {\n"
			"$fd_bytes$"
			"};\n\n");
	}
	printer_print(p, "static const lrpc_file_desc lrpc_gen_dependencies_[] = {\n");
	for (size_t i = 0; i < n; i++) {
		printer_set(p, "dep", deps[i]->name);
		printer_set(p, "i", rpcgen_asprintf("%zu", i));
		printer_print(p, "\t{ \"$dep$\", lrpc_gen_dependency_$i$_, "
				 "sizeof(lrpc_gen_dependency_$i$_) },\n");
	}
	printer_print(p, "\t{ NULL, NULL, 0 },\n};\n\n");
}

void emit_file_descriptor(printer *p, const pb_file *file, const pb_request *req)
{
	size_t len;

	printer_set(p, "fd_bytes", descriptor_bytes(file, &len));
	printer_set(p, "fd_len", rpcgen_asprintf("%zu", len));
	printer_print(p,
		"/* google.protobuf.FileDescriptorProto of $proto$, without source info. */\n"
		"static const uint8_t lrpc_gen_file_descriptor_[$fd_len$] = {\n"
		"$fd_bytes$"
		"};\n\n");
	emit_dependencies(p, file, req);
}
