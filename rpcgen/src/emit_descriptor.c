/* SPDX-License-Identifier: MIT */
/*
 * The file's own google.protobuf.FileDescriptorProto, serialized into
 * x.lrpc.c as a byte array that every service description of the file
 * points at (lrpc_service_desc.file_descriptor): what reflection and
 * tools need to know the file's messages and methods without the .proto.
 * It is protoc's description as the plugin received it, minus the
 * source_code_info (comments and spans, which protoc sends only to
 * plugins and which would double the size), as gRPC's reflection serves it.
 */
#include <stdlib.h>

#include "rpcgen.h"

#define BYTES_PER_LINE 12

void emit_file_descriptor(printer *p, const pb_file *file)
{
	pb_file bare = *file; /* a shallow copy: pack only reads it */
	size_t len;
	uint8_t *buf;
	strbuf hex = { 0 };

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
	printer_set(p, "fd_len", rpcgen_asprintf("%zu", len));
	printer_set(p, "fd_bytes", rpcgen_strdup(hex.len ? hex.buf : ""));
	sb_free(&hex);
	printer_print(p,
		"/* google.protobuf.FileDescriptorProto of $proto$, without source info. */\n"
		"static const uint8_t lrpc_gen_file_descriptor_[$fd_len$] = {\n"
		"$fd_bytes$"
		"};\n\n");
}
