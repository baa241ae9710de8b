// SPDX-License-Identifier: MIT
/*
 * `lazyrpc describe TARGET [SYMBOL] [--json] [--deadline MS]`: a server's
 * services and their methods (with their kind), or one service, method
 * (with its request and reply messages), message (with the messages and
 * enums nested in it) or enum, from its reflection service. What is
 * described is first gathered as one JSON value (--json prints it); the
 * text form is printed from that value, so both always say the same.
 */
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#define USAGE "usage: lazyrpc describe TARGET [SERVICE[/METHOD]|MESSAGE|ENUM] [--json] " \
	      TOOL_CONN_USAGE "\n"

typedef Google__Protobuf__FieldDescriptorProto field_desc;
typedef Google__Protobuf__EnumDescriptorProto enum_desc;

struct model {
	const pbjson_pool *pool;
	json_t *services, *messages, *enums; /* arrays, owned by root */
	json_t *root;
};

static const char *const scalar_names[] = {
	[1] = "double", "float", "int64", "uint64", "int32", "fixed64", "fixed32", "bool",
	"string", "group", "message", "bytes", "uint32", "enum", "sfixed32", "sfixed64",
	"sint32", "sint64",
};

/* A field's type as a .proto spells it (full names without the dot). */
static const char *type_name(const field_desc *f)
{
	if (f->type_name)
		return f->type_name + (f->type_name[0] == '.');
	if ((size_t)f->type < sizeof(scalar_names) / sizeof(scalar_names[0]) &&
	    scalar_names[f->type])
		return scalar_names[f->type];
	return "?";
}

static char *join(const char *scope, const char *name)
{
	size_t n = strlen(scope) + strlen(name) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s%s", scope, *scope ? "." : "", name ? name : "?");
	return s;
}

static void add_enum(struct model *md, const enum_desc *e, const char *full)
{
	json_t *values = json_array();

	for (size_t i = 0; i < e->n_value; i++)
		json_array_append_new(values, json_pack("{s:s,s:i}", "name",
							e->value[i]->name ? e->value[i]->name : "?",
							"number", (json_int_t)e->value[i]->number));
	json_array_append_new(md->enums, json_pack("{s:s,s:o}", "name", full, "values", values));
}

static json_t *field_json(const struct model *md, const pbjson_msg *m, const field_desc *f)
{
	const pbjson_msg *entry = f->type_name ? pbjson_find_msg(md->pool, f->type_name) : NULL;
	bool repeated = f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
	bool optional = f->has_proto3_optional && f->proto3_optional;
	char json_name[256];
	json_t *j;

	j = json_pack("{s:s,s:s,s:i}", "name", f->name ? f->name : "?", "json_name",
		      f->name ? pbjson__json_name(f, json_name, sizeof(json_name)) : "?",
		      "number", (json_int_t)f->number);
	if (repeated && entry && pbjson__is_map_entry(entry)) {
		json_object_set_new(j, "type", json_string("map"));
		json_object_set_new(j, "map_key", json_string(type_name(entry->field[0])));
		json_object_set_new(j, "map_value", json_string(type_name(entry->field[1])));
		repeated = false;
	} else {
		json_object_set_new(j, "type", json_string(type_name(f)));
	}
	json_object_set_new(j, "repeated", json_boolean(repeated));
	if (optional)
		json_object_set_new(j, "optional", json_true());
	if (f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED)
		json_object_set_new(j, "required", json_true());
	/* A proto3 optional's oneof is synthetic: not one the user wrote. */
	if (f->has_oneof_index && !optional && f->oneof_index >= 0 &&
	    (size_t)f->oneof_index < m->n_oneof_decl && m->oneof_decl[f->oneof_index]->name)
		json_object_set_new(j, "oneof", json_string(m->oneof_decl[f->oneof_index]->name));
	return j;
}

/* \p m and what is nested in it (map entries are fields' types, not
 * messages of their own). */
static void add_message(struct model *md, const pbjson_msg *m, const char *full,
			unsigned int depth)
{
	json_t *fields = json_array(), *oneofs = json_array();

	for (size_t i = 0; i < m->n_field; i++)
		json_array_append_new(fields, field_json(md, m, m->field[i]));
	for (size_t i = 0; i < m->n_field; i++) {
		json_t *o = json_object_get(json_array_get(fields, i), "oneof");
		bool seen = false;
		size_t k;
		json_t *v;

		json_array_foreach(oneofs, k, v)
			seen |= json_equal(v, o);
		if (o && !seen)
			json_array_append(oneofs, o);
	}
	json_array_append_new(md->messages, json_pack("{s:s,s:o,s:o}", "name", full, "fields",
						      fields, "oneofs", oneofs));
	if (depth >= PBJSON_MAX_DEPTH)
		return;
	for (size_t i = 0; i < m->n_nested_type; i++) {
		char *inner = pbjson__is_map_entry(m->nested_type[i]) ? NULL :
			      join(full, m->nested_type[i]->name);

		if (inner)
			add_message(md, m->nested_type[i], inner, depth + 1);
		free(inner);
	}
	for (size_t i = 0; i < m->n_enum_type; i++) {
		char *inner = join(full, m->enum_type[i]->name);

		if (inner)
			add_enum(md, m->enum_type[i], inner);
		free(inner);
	}
}

static const char *bare(const char *type)
{
	return type ? type + (type[0] == '.') : "?";
}

/* \p svc with every method, or only \p only. */
static void add_service(struct model *md, const pbjson_svc *svc, const char *full,
			const pbjson_method *only)
{
	const Google__Protobuf__FileDescriptorProto *file = pbjson_symbol_file(md->pool, full);
	json_t *methods = json_array();

	for (size_t i = 0; i < svc->n_method; i++) {
		const pbjson_method *m = svc->method[i];
		char path[512];

		if (only && m != only)
			continue;
		snprintf(path, sizeof(path), "/%s/%s", full, m->name ? m->name : "?");
		json_array_append_new(methods, json_pack(
			"{s:s,s:s,s:s,s:s,s:s}", "name", m->name ? m->name : "?",
			"full_name", path, "kind",
			tool_method_kind((m->client_streaming ? LRPC_METHOD_CLIENT_STREAMING : 0) |
					 (m->server_streaming ? LRPC_METHOD_SERVER_STREAMING : 0)),
			"input", bare(m->input_type), "output", bare(m->output_type)));
	}
	json_array_append_new(md->services, json_pack("{s:s,s:s,s:o}", "name", full, "file",
						      file && file->name ? file->name : "?",
						      "methods", methods));
}

/* What \p symbol names in the pool, added to the model. \return 0, -1. */
static int add_symbol(struct model *md, const char *symbol)
{
	struct tool_method tm;
	const pbjson_svc *svc;
	const pbjson_msg *m;
	const enum_desc *e;

	symbol += symbol[0] == '/';
	if ((svc = pbjson_find_service(md->pool, symbol))) {
		add_service(md, svc, symbol, NULL);
	} else if ((m = pbjson_find_msg(md->pool, symbol))) {
		add_message(md, m, symbol, 0);
	} else if ((e = pbjson_find_enum(md->pool, symbol))) {
		add_enum(md, e, symbol);
	} else if (tool_method_find(md->pool, symbol, &tm) == 0) {
		add_service(md, pbjson_find_service(md->pool, tm.service), tm.service, tm.desc);
		add_message(md, tm.in, bare(tm.desc->input_type), 0);
		if (tm.in != tm.out)
			add_message(md, tm.out, bare(tm.desc->output_type), 0);
	} else {
		return -1;
	}
	return 0;
}

/* --- the text form, from the model ---------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

static void print_field(const json_t *f, const char *indent)
{
	printf("%s", indent);
	if (json_is_true(json_object_get(f, "repeated")))
		printf("repeated ");
	if (json_is_true(json_object_get(f, "optional")))
		printf("optional ");
	if (json_is_true(json_object_get(f, "required")))
		printf("required ");
	if (!strcmp(str(f, "type"), "map"))
		printf("map<%s, %s>", str(f, "map_key"), str(f, "map_value"));
	else
		printf("%s", str(f, "type"));
	printf(" %s = %" JSON_INTEGER_FORMAT ";\n", str(f, "name"),
	       json_integer_value(json_object_get(f, "number")));
}

static void print_text(const struct model *md)
{
	const json_t *v, *x, *o;
	size_t i, k, l;
	const char *sep = "";

	json_array_foreach(md->services, i, v) {
		printf("%sservice %s {  // %s\n", sep, str(v, "name"), str(v, "file"));
		json_array_foreach(json_object_get(v, "methods"), k, x) {
			const char *kind = str(x, "kind");
			size_t us = strcspn(kind, "_");
			bool bidi = !strcmp(kind, "bidi_streaming");

			printf("  rpc %s(%s%s) returns (%s%s);  // %.*s%s\n", str(x, "name"),
			       bidi || !strcmp(kind, "client_streaming") ? "stream " : "",
			       str(x, "input"),
			       bidi || !strcmp(kind, "server_streaming") ? "stream " : "",
			       str(x, "output"), (int)us, kind, kind[us] ? " streaming" : "");
		}
		printf("}\n");
		sep = "\n";
	}
	json_array_foreach(md->messages, i, v) {
		const json_t *fields = json_object_get(v, "fields");

		printf("%smessage %s {\n", sep, str(v, "name"));
		json_array_foreach(fields, k, x)
			if (!json_object_get(x, "oneof"))
				print_field(x, "  ");
		json_array_foreach(json_object_get(v, "oneofs"), k, o) {
			printf("  oneof %s {\n", json_string_value(o));
			json_array_foreach(fields, l, x)
				if (json_equal(json_object_get(x, "oneof"), o))
					print_field(x, "    ");
			printf("  }\n");
		}
		printf("}\n");
		sep = "\n";
	}
	json_array_foreach(md->enums, i, v) {
		printf("%senum %s {\n", sep, str(v, "name"));
		json_array_foreach(json_object_get(v, "values"), k, x)
			printf("  %s = %" JSON_INTEGER_FORMAT ";\n", str(x, "name"),
			       json_integer_value(json_object_get(x, "number")));
		printf("}\n");
		sep = "\n";
	}
}

static int describe_main(int argc, char **argv)
{
	struct tool_args a = TOOL_ARGS_INIT;
	const char *target, *symbol;
	struct model md = { 0 };
	pbjson_pool *pool;
	int ret = 0;

	if (tool_args_parse(&a, argc, argv, 1, 2, USAGE, NULL, NULL) < 0)
		return TOOL_EXIT_USAGE;
	target = a.words[0];
	symbol = a.words[1];
	if (tool_conn_open(&a.conn, target) < 0)
		return TOOL_EXIT_FAILED;
	ret = tool_schema_load(&a.conn, "describe", target, symbol, &pool);
	tool_conn_close(&a.conn);
	if (ret < 0)
		return TOOL_EXIT_FAILED;
	md.pool = pool;
	md.services = json_array();
	md.messages = json_array();
	md.enums = json_array();
	md.root = json_pack("{s:o,s:o,s:o}", "services", md.services, "messages", md.messages,
			    "enums", md.enums);
	if (!md.root) {
		fprintf(stderr, "lazyrpc describe: out of memory\n");
		ret = -1;
	} else if (symbol) {
		ret = add_symbol(&md, symbol);
		if (ret < 0)
			fprintf(stderr, "lazyrpc describe: %s serves no %s (`lazyrpc describe "
				"%s` lists what it does)\n", target, symbol, target);
	} else {
		const pbjson_svc *const *svcs;
		const char *const *names;
		size_t n = pbjson_services(pool, &svcs, &names);

		for (size_t i = 0; i < n; i++)
			add_service(&md, svcs[i], names[i], NULL);
	}
	if (ret == 0 && a.json) {
		json_dumpf(md.root, stdout, JSON_COMPACT);
		printf("\n");
	} else if (ret == 0) {
		print_text(&md);
	}
	json_decref(md.root);
	pbjson_pool_free(pool);
	return ret < 0 ? TOOL_EXIT_FAILED : 0;
}

const struct tool_cmd tool_cmd_describe = {
	.name = "describe",
	.summary = "a server's services, methods and messages (its reflection service)",
	.main = describe_main,
};
