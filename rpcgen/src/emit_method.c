/* SPDX-License-Identifier: MIT */
/*
 * The pieces emitted once per method, and those of unary methods (the
 * streaming kinds are in emit_stream.c). They are small templates kept
 * together so that the handler signature, the thunk that calls it and the
 * client wrapper are visibly written against the same types.
 */
#include <lazyrpc/service.h>

#include "rpcgen.h"

static const char *const kind_names[] = {
	"LRPC_METHOD_UNARY", "LRPC_METHOD_CLIENT_STREAMING",
	"LRPC_METHOD_SERVER_STREAMING", "LRPC_METHOD_BIDI_STREAMING",
};

/* Every per-method template reads the same variables; set them in one place. */
void emit_method_vars(printer *p, const method_names *mn)
{
	printer_set(p, "method", mn->m->name);
	printer_set(p, "mlower", mn->lower);
	printer_set(p, "member", mn->member);
	printer_set(p, "mfull", mn->full_name);
	printer_set(p, "mupper", name_camel_to_upper(mn->m->name));
	printer_set(p, "id", rpcgen_asprintf("0x%08xu", (unsigned)mn->id));
	printer_set(p, "in_c", mn->in->c_name);
	printer_set(p, "out_c", mn->out->c_name);
	printer_set(p, "in_desc", mn->in->descriptor);
	printer_set(p, "out_desc", mn->out->descriptor);
	printer_set(p, "in_proto", mn->in->full_name + 1);
	printer_set(p, "out_proto", mn->out->full_name + 1);
	printer_set(p, "kind", kind_names[mn->kind]);
	printer_set(p, "in_stream", mn->m->client_streaming ? "stream " : "");
	printer_set(p, "out_stream", mn->m->server_streaming ? "stream " : "");
}

/* A macro, so that switch statements and tools can use the id as a constant. */
void emit_method_id(printer *p, const method_names *mn)
{
	emit_method_vars(p, mn);
	printer_print(p, "#define $upper$__$mupper$__ID $id$ /* $mfull$ */\n");
}

void emit_method_member(printer *p, const method_names *mn)
{
	emit_method_vars(p, mn);
	printer_print(p,
		"\t/* rpc $method$($in_stream$$in_proto$) returns ($out_stream$$out_proto$) */\n");
	if (mn->kind != LRPC_METHOD_UNARY) {
		emit_stream_member(p, mn);
		return;
	}
	printer_print(p,
		"\tlrpc_code (*$member$)(void *user, lrpc_call *call,\n"
		"\t\t\tconst $in_c$ *req, $out_c$ *reply);\n");
}

void emit_method_call_decl(printer *p, const method_names *mn)
{
	if (mn->kind != LRPC_METHOD_UNARY) {
		emit_stream_decls(p, mn);
		return;
	}
	emit_method_vars(p, mn);
	printer_print(p,
		"/**\n"
		" * Call $mfull$ through \\p ch and wait for the reply\n"
		" * until \\p deadline (LRPC_DEADLINE_DEFAULT: the channel's default).\n"
		" * On LRPC_OK, *reply is a new message the caller frees with\n"
		" * protobuf_c_message_free_unpacked(&(*reply)->base, NULL); otherwise\n"
		" * *reply is NULL. \\p status may be NULL. Thread-safe.\n"
		" * \\return the call's status code.\n"
		" */\n"
		"lrpc_code $lower$__$mlower$__call(lrpc_channel *ch,\n"
		"\t\tconst $in_c$ *req, $out_c$ **reply,\n"
		"\t\tlrpc_deadline deadline, lrpc_status *status);\n\n"
		"/**\n"
		" * Start calling $mfull$ through \\p ch (lrpc_channel_call_async():\n"
		" * \\p req is encoded before this returns; \\p cb runs once, inside\n"
		" * lrpc_cq_run(\\p cq), never in here; on LRPC_OK its reply is a\n"
		" * $out_c$ the callback owns). Thread-safe.\n"
		" * \\return 0, or -EINVAL / -ENOMEM (then \\p cb never runs).\n"
		" */\n"
		"int $lower$__$mlower$__call_async(lrpc_channel *ch,\n"
		"\t\tconst $in_c$ *req, lrpc_deadline deadline, lrpc_cq *cq,\n"
		"\t\tlrpc_call_cb cb, void *arg, lrpc_async **handle);\n\n");
}

/*
 * The runtime unpacks the request with the method's input descriptor, so
 * the casts are safe; the NULL checks let a server implement only part of
 * a service.
 */
void emit_method_invoke(printer *p, const method_names *mn)
{
	if (mn->kind != LRPC_METHOD_UNARY) {
		emit_stream_invoke(p, mn);
		return;
	}
	emit_method_vars(p, mn);
	printer_print(p,
		"static lrpc_code $lower$__$mlower$__lrpc_invoke(const void *handlers,\n"
		"\t\tvoid *user, lrpc_call *call, const ProtobufCMessage *req,\n"
		"\t\tProtobufCMessage *rep)\n"
		"{\n"
		"\tconst $cname$_Handlers *h = (const $cname$_Handlers *)handlers;\n"
		"\n"
		"\tif (h == NULL || h->$member$ == NULL)\n"
		"\t\treturn LRPC_UNIMPLEMENTED;\n"
		"\treturn h->$member$(user, call, (const $in_c$ *)req,\n"
		"\t\t\t($out_c$ *)rep);\n"
		"}\n\n");
}

/* Positional initialisers: the same text compiles as C and as C++. */
void emit_method_desc(printer *p, const method_names *mn)
{
	bool unary = mn->kind == LRPC_METHOD_UNARY;

	emit_method_vars(p, mn);
	printer_print(p,
		"\t{\n"
		"\t\t\"$method$\",\n"
		"\t\t\"$mfull$\",\n"
		"\t\t$upper$__$mupper$__ID,\n"
		"\t\t$kind$,\n"
		"\t\t&$in_desc$,\n"
		"\t\t&$out_desc$,\n");
	printer_print(p, unary ? "\t\t$lower$__$mlower$__lrpc_invoke,\n\t\tNULL,\n" :
				 "\t\tNULL,\n\t\t$lower$__$mlower$__lrpc_stream_invoke,\n");
	printer_print(p,
		"\t\t{ NULL },\n"
		"\t},\n");
}

void emit_method_call_def(printer *p, const method_names *mn, size_t index)
{
	emit_method_vars(p, mn);
	printer_set(p, "index", rpcgen_asprintf("%zu", index));
	if (mn->kind != LRPC_METHOD_UNARY) {
		emit_stream_defs(p, mn);
		return;
	}
	printer_print(p,
		"lrpc_code $lower$__$mlower$__call(lrpc_channel *ch,\n"
		"\t\tconst $in_c$ *req, $out_c$ **reply,\n"
		"\t\tlrpc_deadline deadline, lrpc_status *status)\n"
		"{\n"
		"\tProtobufCMessage *rep = NULL;\n"
		"\tlrpc_code code;\n"
		"\n"
		"\tcode = lrpc_channel_call(ch, &$lower$__lrpc_methods[$index$],\n"
		"\t\t\t(const ProtobufCMessage *)req, &rep, deadline, status);\n"
		"\t*reply = ($out_c$ *)rep;\n"
		"\treturn code;\n"
		"}\n\n"
		"int $lower$__$mlower$__call_async(lrpc_channel *ch,\n"
		"\t\tconst $in_c$ *req, lrpc_deadline deadline, lrpc_cq *cq,\n"
		"\t\tlrpc_call_cb cb, void *arg, lrpc_async **handle)\n"
		"{\n"
		"\treturn lrpc_channel_call_async(ch, &$lower$__lrpc_methods[$index$],\n"
		"\t\t\t(const ProtobufCMessage *)req, deadline, cq, cb, arg,\n"
		"\t\t\thandle);\n"
		"}\n\n");
}
