/* SPDX-License-Identifier: MIT */
/*
 * The pieces of client-streaming, server-streaming and bidirectional
 * methods. Every kind is one lrpc_stream on the wire; what differs is the
 * shape the stubs give it:
 *
 *   kind    client                          handler
 *   client  open, write, close_and_recv     (call, stream, reply): the
 *                                           thunk sends *reply on LRPC_OK
 *   server  open(req), read                 (call, req, stream): the thunk
 *                                           reads the one request first
 *   bidi    open, write, read, close_send   (call, stream)
 *
 * Streams stay the runtime's lrpc_stream / lrpc_server_stream; the typed
 * accessors are static inline functions in the header, so they cost
 * nothing over calling the runtime directly, and the runtime still checks
 * each message's type at run time.
 */
#include <lazyrpc/service.h>

#include "rpcgen.h"

void emit_stream_member(printer *p, const method_names *mn)
{
	switch (mn->kind) {
	case LRPC_METHOD_CLIENT_STREAMING:
		printer_print(p,
			"\tlrpc_code (*$member$)(void *user, lrpc_call *call,\n"
			"\t\t\tlrpc_server_stream *stream, $out_c$ *reply);\n");
		break;
	case LRPC_METHOD_SERVER_STREAMING:
		printer_print(p,
			"\tlrpc_code (*$member$)(void *user, lrpc_call *call,\n"
			"\t\t\tconst $in_c$ *req, lrpc_server_stream *stream);\n");
		break;
	default:
		printer_print(p,
			"\tlrpc_code (*$member$)(void *user, lrpc_call *call,\n"
			"\t\t\tlrpc_server_stream *stream);\n");
		break;
	}
}

static void emit_open_decl(printer *p, const method_names *mn)
{
	if (mn->kind == LRPC_METHOD_SERVER_STREAMING) {
		printer_print(p,
			"/**\n"
			" * Call $mfull$ through \\p ch: open a stream that lasts\n"
			" * until \\p deadline (LRPC_DEADLINE_DEFAULT: the channel's default),\n"
			" * send \\p req and half-close; then read the replies with\n"
			" * $lower$__$mlower$__read(). On LRPC_OK *stream is the caller's,\n"
			" * released with lrpc_stream_free(); otherwise *stream is NULL.\n"
			" * \\p status may be NULL. Thread-safe on \\p ch.\n"
			" * \\return the status code (see lrpc_stream_open(), lrpc_stream_write()).\n"
			" */\n"
			"lrpc_code $lower$__$mlower$__open(lrpc_channel *ch,\n"
			"\t\tconst $in_c$ *req, lrpc_deadline deadline,\n"
			"\t\tlrpc_stream **stream, lrpc_status *status);\n\n");
		return;
	}
	printer_print(p,
		"/**\n"
		" * Open a stream on $mfull$ through \\p ch that lasts until\n"
		" * \\p deadline (LRPC_DEADLINE_DEFAULT: the channel's default).\n"
		" * On LRPC_OK *stream is the caller's, released with\n"
		" * lrpc_stream_free() (lrpc_stream_cancel() to give up early);\n"
		" * otherwise *stream is NULL. \\p status may be NULL. Thread-safe on \\p ch.\n"
		" * \\return the status code (see lrpc_stream_open()).\n"
		" */\n"
		"lrpc_code $lower$__$mlower$__open(lrpc_channel *ch,\n"
		"\t\tlrpc_deadline deadline, lrpc_stream **stream,\n"
		"\t\tlrpc_status *status);\n\n");
}

static void emit_client_inlines(printer *p, const method_names *mn)
{
	if (mn->m->client_streaming)
		printer_print(p,
			"/**\n"
			" * Send \\p msg on a stream of $lower$__$mlower$__open(); blocks while\n"
			" * the stream's window is full. \\p msg stays the caller's.\n"
			" * \\return see lrpc_stream_write().\n"
			" */\n"
			"static inline lrpc_code $lower$__$mlower$__write(lrpc_stream *stream,\n"
			"\t\tconst $in_c$ *msg, lrpc_status *status)\n"
			"{\n"
			"\treturn lrpc_stream_write(stream, &msg->base, status);\n"
			"}\n\n");
	if (mn->m->server_streaming)
		printer_print(p,
			"/**\n"
			" * Wait for the next $out_proto$ of a stream of\n"
			" * $lower$__$mlower$__open(). LRPC_OK with *msg NULL: the server\n"
			" * ended the stream with OK. *msg belongs to the stream and is\n"
			" * valid until the next read or lrpc_stream_free().\n"
			" * \\return see lrpc_stream_read().\n"
			" */\n"
			"static inline lrpc_code $lower$__$mlower$__read(lrpc_stream *stream,\n"
			"\t\t$out_c$ **msg, lrpc_status *status)\n"
			"{\n"
			"\tProtobufCMessage *m = NULL;\n"
			"\tlrpc_code code = lrpc_stream_read(stream, &m, status);\n"
			"\n"
			"\t*msg = ($out_c$ *)m;\n"
			"\treturn code;\n"
			"}\n\n");
	if (mn->kind == LRPC_METHOD_BIDI_STREAMING)
		printer_print(p,
			"/** Half-close a stream of $lower$__$mlower$__open(); see lrpc_stream_close_send(). */\n"
			"static inline lrpc_code $lower$__$mlower$__close_send(lrpc_stream *stream,\n"
			"\t\tlrpc_status *status)\n"
			"{\n"
			"\treturn lrpc_stream_close_send(stream, status);\n"
			"}\n\n");
	if (mn->kind == LRPC_METHOD_CLIENT_STREAMING)
		printer_print(p,
			"/**\n"
			" * Half-close a stream of $lower$__$mlower$__open() and wait for the\n"
			" * one $out_proto$ and the server's status. On LRPC_OK *reply is a\n"
			" * new message the caller frees with\n"
			" * protobuf_c_message_free_unpacked(&(*reply)->base, NULL); otherwise\n"
			" * *reply is NULL. The stream still needs lrpc_stream_free().\n"
			" * \\return the status code; LRPC_INTERNAL if the server sent no\n"
			" * reply or more than one.\n"
			" */\n"
			"lrpc_code $lower$__$mlower$__close_and_recv(lrpc_stream *stream,\n"
			"\t\t$out_c$ **reply, lrpc_status *status);\n\n");
}

static void emit_server_inlines(printer *p, const method_names *mn)
{
	if (mn->kind != LRPC_METHOD_SERVER_STREAMING)
		printer_print(p,
			"/**\n"
			" * In the $member$ handler: wait for the client's next $in_proto$.\n"
			" * LRPC_OK with *msg NULL: the client half-closed. *msg belongs to\n"
			" * the runtime, valid until the next read or the handler's return.\n"
			" * \\return see lrpc_server_stream_read().\n"
			" */\n"
			"static inline lrpc_code $lower$__$mlower$__server_read(\n"
			"\t\tlrpc_server_stream *stream, $in_c$ **msg)\n"
			"{\n"
			"\tProtobufCMessage *m = NULL;\n"
			"\tlrpc_code code = lrpc_server_stream_read(stream, &m);\n"
			"\n"
			"\t*msg = ($in_c$ *)m;\n"
			"\treturn code;\n"
			"}\n\n");
	if (mn->m->server_streaming)
		printer_print(p,
			"/**\n"
			" * In the $member$ handler: send \\p msg to the client; blocks while\n"
			" * the client's window is full. \\return see lrpc_server_stream_write().\n"
			" */\n"
			"static inline lrpc_code $lower$__$mlower$__server_write(\n"
			"\t\tlrpc_server_stream *stream, const $out_c$ *msg)\n"
			"{\n"
			"\treturn lrpc_server_stream_write(stream, &msg->base);\n"
			"}\n\n");
}

void emit_stream_decls(printer *p, const method_names *mn)
{
	emit_method_vars(p, mn);
	printer_print(p, "/* $mfull$: $in_stream$$in_proto$ -> $out_stream$$out_proto$ */\n\n");
	emit_open_decl(p, mn);
	emit_client_inlines(p, mn);
	emit_server_inlines(p, mn);
}

/*
 * The thunks. A NULL member answers UNIMPLEMENTED before anything is
 * read, as for unary methods. The client-streaming reply lives in call
 * memory, like a unary reply, so the handler fills it the same way.
 */
void emit_stream_invoke(printer *p, const method_names *mn)
{
	emit_method_vars(p, mn);
	printer_print(p,
		"static lrpc_code $lower$__$mlower$__lrpc_stream_invoke(\n"
		"\t\tconst void *handlers, void *user, lrpc_call *call,\n"
		"\t\tlrpc_server_stream *stream)\n"
		"{\n"
		"\tconst $cname$_Handlers *h = (const $cname$_Handlers *)handlers;\n");
	switch (mn->kind) {
	case LRPC_METHOD_CLIENT_STREAMING:
		printer_print(p,
			"\t$out_c$ *reply;\n"
			"\tlrpc_code code;\n"
			"\n"
			"\tif (h == NULL || h->$member$ == NULL)\n"
			"\t\treturn LRPC_UNIMPLEMENTED;\n"
			"\treply = ($out_c$ *)lrpc_call_alloc(call, sizeof(*reply));\n"
			"\tif (reply == NULL)\n"
			"\t\treturn LRPC_RESOURCE_EXHAUSTED;\n"
			"\tprotobuf_c_message_init(&$out_desc$, reply);\n"
			"\tcode = h->$member$(user, call, stream, reply);\n"
			"\tif (code != LRPC_OK)\n"
			"\t\treturn code;\n"
			"\treturn lrpc_server_stream_write(stream, &reply->base);\n"
			"}\n\n");
		break;
	case LRPC_METHOD_SERVER_STREAMING:
		printer_print(p,
			"\tProtobufCMessage *req = NULL;\n"
			"\tlrpc_code code;\n"
			"\n"
			"\tif (h == NULL || h->$member$ == NULL)\n"
			"\t\treturn LRPC_UNIMPLEMENTED;\n"
			"\tcode = lrpc_server_stream_read(stream, &req);\n"
			"\tif (code != LRPC_OK)\n"
			"\t\treturn code;\n"
			"\tif (req == NULL) {\n"
			"\t\tlrpc_call_set_message(call, \"$mfull$ takes one request; \"\n"
			"\t\t\t\t\"the client half-closed without one\");\n"
			"\t\treturn LRPC_INVALID_ARGUMENT;\n"
			"\t}\n"
			"\treturn h->$member$(user, call, (const $in_c$ *)req, stream);\n"
			"}\n\n");
		break;
	default:
		printer_print(p,
			"\n"
			"\tif (h == NULL || h->$member$ == NULL)\n"
			"\t\treturn LRPC_UNIMPLEMENTED;\n"
			"\treturn h->$member$(user, call, stream);\n"
			"}\n\n");
		break;
	}
}

/* Expects emit_method_vars() and $index$ set (emit_method_call_def()). */
void emit_stream_defs(printer *p, const method_names *mn)
{
	if (mn->kind != LRPC_METHOD_SERVER_STREAMING) {
		printer_print(p,
			"lrpc_code $lower$__$mlower$__open(lrpc_channel *ch,\n"
			"\t\tlrpc_deadline deadline, lrpc_stream **stream,\n"
			"\t\tlrpc_status *status)\n"
			"{\n"
			"\treturn lrpc_stream_open(ch, &$lower$__lrpc_methods[$index$],\n"
			"\t\t\tdeadline, stream, status);\n"
			"}\n\n");
	} else {
		/* One request, then the half-close the server's thunk waits for. */
		printer_print(p,
			"lrpc_code $lower$__$mlower$__open(lrpc_channel *ch,\n"
			"\t\tconst $in_c$ *req, lrpc_deadline deadline,\n"
			"\t\tlrpc_stream **stream, lrpc_status *status)\n"
			"{\n"
			"\tlrpc_code code;\n"
			"\n"
			"\tcode = lrpc_stream_open(ch, &$lower$__lrpc_methods[$index$],\n"
			"\t\t\tdeadline, stream, status);\n"
			"\tif (code != LRPC_OK)\n"
			"\t\treturn code;\n"
			"\tcode = lrpc_stream_write(*stream, &req->base, status);\n"
			"\tif (code == LRPC_OK)\n"
			"\t\tcode = lrpc_stream_close_send(*stream, status);\n"
			"\tif (code != LRPC_OK) {\n"
			"\t\tlrpc_stream_free(*stream);\n"
			"\t\t*stream = NULL;\n"
			"\t}\n"
			"\treturn code;\n"
			"}\n\n");
	}
	if (mn->kind != LRPC_METHOD_CLIENT_STREAMING)
		return;
	/*
	 * The reply read from the stream dies at the next read, which is the
	 * one that learns the server's status; a copy outlives it, so the
	 * caller owns the reply exactly as after a unary __call.
	 */
	printer_print(p,
		"lrpc_code $lower$__$mlower$__close_and_recv(lrpc_stream *stream,\n"
		"\t\t$out_c$ **reply, lrpc_status *status)\n"
		"{\n"
		"\tProtobufCMessage *m = NULL, *copy;\n"
		"\tlrpc_code code;\n"
		"\n"
		"\t*reply = NULL;\n"
		"\tcode = lrpc_stream_close_send(stream, status);\n"
		"\tif (code == LRPC_OK)\n"
		"\t\tcode = lrpc_stream_read(stream, &m, status);\n"
		"\tif (code != LRPC_OK)\n"
		"\t\treturn code;\n"
		"\tif (m == NULL)\n"
		"\t\treturn lrpc_gen_fail_(status, LRPC_INTERNAL,\n"
		"\t\t\t\t\"$mfull$: the server sent no reply\");\n"
		"\tcopy = lrpc_gen_copy_(m);\n"
		"\tif (copy == NULL) {\n"
		"\t\tlrpc_stream_cancel(stream);\n"
		"\t\treturn lrpc_gen_fail_(status, LRPC_RESOURCE_EXHAUSTED,\n"
		"\t\t\t\t\"$mfull$: out of memory for the reply\");\n"
		"\t}\n"
		"\tcode = lrpc_stream_read(stream, &m, status);\n"
		"\tif (code == LRPC_OK && m != NULL) {\n"
		"\t\tlrpc_stream_cancel(stream);\n"
		"\t\tcode = lrpc_gen_fail_(status, LRPC_INTERNAL,\n"
		"\t\t\t\t\"$mfull$: the server sent more than one reply\");\n"
		"\t}\n"
		"\tif (code != LRPC_OK) {\n"
		"\t\tprotobuf_c_message_free_unpacked(copy, NULL);\n"
		"\t\treturn code;\n"
		"\t}\n"
		"\t*reply = ($out_c$ *)copy;\n"
		"\treturn LRPC_OK;\n"
		"}\n\n");
}

/* Does \p file have a client-streaming method (needing the helpers below)? */
static bool has_client_streaming(const pb_file *file)
{
	for (size_t i = 0; i < file->n_service; i++)
		for (size_t j = 0; j < file->service[i]->n_method; j++)
			if (file->service[i]->method[j]->client_streaming &&
			    !file->service[i]->method[j]->server_streaming)
				return true;
	return false;
}

/*
 * File-level helpers of close_and_recv, static in x.lrpc.c. lazyrpc has no
 * public way to fill an lrpc_status or to copy a message, so they are
 * emitted, once per file that needs them.
 */
void emit_stream_helpers(printer *p, const pb_file *file)
{
	if (!has_client_streaming(file))
		return;
	printer_print(p,
		"#include <stdio.h>\n"
		"#include <stdlib.h>\n"
		"\n"
		"static lrpc_code lrpc_gen_fail_(lrpc_status *status, lrpc_code code,\n"
		"\t\tconst char *message)\n"
		"{\n"
		"\tif (status != NULL) {\n"
		"\t\tstatus->code = code;\n"
		"\t\tsnprintf(status->message, sizeof(status->message), \"%s\", message);\n"
		"\t}\n"
		"\treturn code;\n"
		"}\n"
		"\n"
		"/* A copy of \\p m from the default allocator, or NULL. */\n"
		"static ProtobufCMessage *lrpc_gen_copy_(const ProtobufCMessage *m)\n"
		"{\n"
		"\tsize_t len = protobuf_c_message_get_packed_size(m);\n"
		"\tuint8_t *buf = (uint8_t *)malloc(len ? len : 1);\n"
		"\tProtobufCMessage *copy;\n"
		"\n"
		"\tif (buf == NULL)\n"
		"\t\treturn NULL;\n"
		"\tprotobuf_c_message_pack(m, buf);\n"
		"\tcopy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);\n"
		"\tfree(buf);\n"
		"\treturn copy;\n"
		"}\n\n");
}
