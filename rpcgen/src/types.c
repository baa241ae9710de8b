/* SPDX-License-Identifier: MIT */
/*
 * The index of every message type in the request (the files to generate
 * and everything they import). Methods name their types by full proto name
 * (".pkg.Outer.Inner"); the C name depends on the file that declares the
 * type (its package and c_package option), not on the file using it, so
 * types from imported files are resolved here and not by string rewriting.
 */
#include <stdlib.h>
#include <string.h>

#include "rpcgen.h"

typedef struct type_builder {
	type_entry *v;
	size_t n;
	size_t cap;
} type_builder;

static void add_type(type_builder *b, const char *full_name, const pb_file *file)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		type_entry *v = realloc(b->v, cap * sizeof(*v));

		if (!v)
			rpcgen_die("out of memory");
		b->v = v;
		b->cap = cap;
	}
	type_entry *e = &b->v[b->n++];
	e->full_name = full_name;
	e->file = file;
	e->c_name = name_full_to_c(full_name + 1, file);
	e->descriptor = rpcgen_asprintf("%s__descriptor",
					name_full_to_lower(full_name + 1, file));
}

/* Nested messages are types of their own in protobuf-c (Outer__Inner). */
static void add_message(type_builder *b, const char *scope, const pb_message *m,
			const pb_file *file)
{
	const char *full = rpcgen_asprintf("%s.%s", scope, m->name ? m->name : "");

	add_type(b, full, file);
	for (size_t i = 0; i < m->n_nested_type; i++)
		add_message(b, full, m->nested_type[i], file);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const type_entry *)a)->full_name,
		      ((const type_entry *)b)->full_name);
}

void types_build(type_index *ti, const pb_request *req)
{
	type_builder b = { 0 };

	for (size_t f = 0; f < req->n_proto_file; f++) {
		const pb_file *file = req->proto_file[f];
		const char *scope = file->package && *file->package ?
			rpcgen_asprintf(".%s", file->package) : "";

		for (size_t i = 0; i < file->n_message_type; i++)
			add_message(&b, scope, file->message_type[i], file);
	}
	/* The entries are copied into the arena so the index owns no heap. */
	ti->n = b.n;
	ti->v = rpcgen_alloc((b.n ? b.n : 1) * sizeof(*ti->v));
	if (b.n)
		memcpy(ti->v, b.v, b.n * sizeof(*ti->v));
	free(b.v);
	qsort(ti->v, ti->n, sizeof(*ti->v), cmp_entry);
}

/* \return the entry for ".pkg.Msg", or NULL if no file declares it. */
const type_entry *types_find(const type_index *ti, const char *full_name)
{
	type_entry key = { .full_name = full_name };

	if (!full_name || !ti->n)
		return NULL;
	return bsearch(&key, ti->v, ti->n, sizeof(*ti->v), cmp_entry);
}
