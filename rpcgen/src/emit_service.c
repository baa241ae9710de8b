/* SPDX-License-Identifier: MIT */
/*
 * The declarations and definitions of one service: the handler table, the
 * lrpc_service_desc with its method table (in .proto order, which is what
 * tools list), the registration function and the client wrappers.
 */
#include "rpcgen.h"

/* Service-level template variables, shared by header and source. */
static void service_vars(printer *p, const svc_names *sn)
{
	const pb_file *f = sn->file;

	printer_set(p, "full", sn->full_name);
	printer_set(p, "short", sn->svc->name);
	printer_set(p, "package", f->package ? f->package : "");
	printer_set(p, "proto", f->name);
	printer_set(p, "cname", sn->c_name);
	printer_set(p, "lower", sn->lower);
	printer_set(p, "upper", sn->upper);
	printer_set(p, "n_methods", rpcgen_asprintf("%zu", sn->svc->n_method));
	printer_set(p, "abi", rpcgen_asprintf("%uu", RPCGEN_SERVICE_ABI));
}

void emit_service_header(printer *p, const svc_names *sn, const type_index *ti)
{
	const pb_service *svc = sn->svc;
	method_names mn;

	service_vars(p, sn);
	printer_print(p,
		"/* --- service $full$ --- */\n\n"
		"/* Method ids: lrpc_method_id(\"/$full$/<Method>\"). */\n");
	for (size_t i = 0; i < svc->n_method; i++) {
		method_names_init(&mn, sn, svc->method[i], ti);
		emit_method_id(p, &mn);
	}
	printer_print(p,
		"\n"
		"/**\n"
		" * Server-side handlers of $full$, one per method. A handler fills\n"
		" * \\p reply (already initialised; memory for its fields comes from\n"
		" * lrpc_call_alloc()) and returns LRPC_OK, or returns another code\n"
		" * after lrpc_call_set_message(). Streaming handlers read and write\n"
		" * \\p stream with the method's __server_read / __server_write, and\n"
		" * what they return ends the stream (a client-streaming handler's\n"
		" * \\p reply is sent when it returns LRPC_OK). A NULL member answers\n"
		" * LRPC_UNIMPLEMENTED.\n"
		" */\n"
		"typedef struct $cname$_Handlers {\n");
	if (svc->n_method == 0)
		printer_print(p, "\tint no_methods_; /* $full$ declares no methods */\n");
	for (size_t i = 0; i < svc->n_method; i++) {
		method_names_init(&mn, sn, svc->method[i], ti);
		emit_method_member(p, &mn);
	}
	printer_print(p,
		"} $cname$_Handlers;\n"
		"\n"
		"/** Description of $full$, for lrpc_server_add_service() and tools. */\n"
		"extern const lrpc_service_desc $lower$__service_desc;\n"
		"\n"
		"/**\n"
		" * Serve $full$ on \\p srv with \\p handlers; \\p user is passed to\n"
		" * every handler. Both pointers must outlive the server. Only before\n"
		" * lrpc_server_start().\n"
		" * \\return 0, or the negative errno of lrpc_server_add_service().\n"
		" */\n"
		"int $lower$__register(lrpc_server *srv,\n"
		"\t\tconst $cname$_Handlers *handlers, void *user);\n\n");
	for (size_t i = 0; i < svc->n_method; i++) {
		method_names_init(&mn, sn, svc->method[i], ti);
		emit_method_call_decl(p, &mn);
	}
}

void emit_service_source(printer *p, const svc_names *sn, const type_index *ti)
{
	const pb_service *svc = sn->svc;
	method_names mn;

	service_vars(p, sn);
	printer_print(p, "/* --- service $full$ --- */\n\n");
	for (size_t i = 0; i < svc->n_method; i++) {
		method_names_init(&mn, sn, svc->method[i], ti);
		emit_method_invoke(p, &mn);
	}
	/* C has no empty arrays: a service without methods gets a NULL table. */
	if (svc->n_method) {
		printer_print(p, "static const lrpc_method_desc $lower$__lrpc_methods[$n_methods$] = {\n");
		for (size_t i = 0; i < svc->n_method; i++) {
			method_names_init(&mn, sn, svc->method[i], ti);
			emit_method_desc(p, &mn);
		}
		printer_print(p, "};\n\n");
		printer_set(p, "methods", rpcgen_asprintf("%s__lrpc_methods", sn->lower));
	} else {
		printer_set(p, "methods", "NULL");
	}
	printer_print(p,
		"const lrpc_service_desc $lower$__service_desc = {\n"
		"\tLRPC_SERVICE_DESC_MAGIC,\n"
		"\t$abi$,\n"
		"\t\"$full$\",\n"
		"\t\"$short$\",\n"
		"\t\"$package$\",\n"
		"\t\"$proto$\",\n"
		"\t$n_methods$,\n"
		"\t$methods$,\n"
		"\tlrpc_gen_file_descriptor_,\n"
		"\tsizeof(lrpc_gen_file_descriptor_),\n"
		"\tlrpc_gen_dependencies_,\n"
		"\t{ NULL },\n"
		"};\n"
		"\n"
		"int $lower$__register(lrpc_server *srv,\n"
		"\t\tconst $cname$_Handlers *handlers, void *user)\n"
		"{\n"
		"\treturn lrpc_server_add_service(srv, &$lower$__service_desc,\n"
		"\t\t\thandlers, user);\n"
		"}\n\n");
	for (size_t i = 0; i < svc->n_method; i++) {
		method_names_init(&mn, sn, svc->method[i], ti);
		emit_method_call_def(p, &mn, i);
	}
}
