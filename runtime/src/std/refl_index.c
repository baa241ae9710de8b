// SPDX-License-Identifier: MIT
/*
 * Reflection's index: every file the server's service descriptions embed
 * (their own and the ones they import), each decoded once with protobuf-c
 * to learn the names it declares. The descriptors come from the program
 * itself (protoc-gen-lazyrpc's output), not from a peer; one that does not
 * decode (a description made by hand) is left out.
 *
 * Symbols are what gRPC's reflection resolves (what protobuf's
 * DescriptorPool finds by name): packages' messages, enums, services and
 * extensions, with nested messages, enums, extensions, fields and oneofs
 * under their message, methods under their service, and enum values
 * beside their enum (protobuf scopes them as its siblings). Files and
 * services are few, so those are found by a linear search; symbols are
 * sorted and searched by bisection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "std/refl_index.h"

typedef Google__Protobuf__FileDescriptorProto file_proto;
typedef Google__Protobuf__DescriptorProto message_proto;
typedef Google__Protobuf__EnumDescriptorProto enum_proto;
typedef Google__Protobuf__FieldDescriptorProto field_proto;

struct builder {
	struct refl_index *ix;
	size_t cap_files, cap_symbols, cap_exts;
	int err;
};

/* Grow *v (of *cap elements of \p size) to hold n + 1. */
static int reserve(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? 2 * *cap : 16;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

/* "scope.name", or "name" at the top of a file without package. */
static char *join(const char *scope, const char *name)
{
	char *out;

	if (asprintf(&out, "%s%s%s", scope, *scope ? "." : "", name ? name : "") < 0)
		return NULL;
	return out;
}

/* Takes \p name (malloc'd, may be NULL after a failed join). */
static void add_symbol(struct builder *b, char *name, size_t file)
{
	struct refl_index *ix = b->ix;

	if (!name || reserve((void **)&ix->symbols, &b->cap_symbols,
			     ix->nsymbols, sizeof(*ix->symbols)) < 0) {
		free(name);
		b->err = -ENOMEM;
		return;
	}
	ix->symbols[ix->nsymbols++] = (struct refl_symbol){ name, file };
}

static void add_extension(struct builder *b, const char *scope,
			  const field_proto *f, size_t file)
{
	struct refl_index *ix = b->ix;

	add_symbol(b, join(scope, f->name), file);
	if (!f->extendee || !f->has_number)
		return;
	if (reserve((void **)&ix->exts, &b->cap_exts, ix->nexts,
		    sizeof(*ix->exts)) < 0) {
		b->err = -ENOMEM;
		return;
	}
	/* protoc gives the extendee fully qualified, with a leading dot. */
	ix->exts[ix->nexts++] = (struct refl_ext){
		f->extendee[0] == '.' ? f->extendee + 1 : f->extendee,
		f->number, file,
	};
}

/* Enum \p e in \p scope, and its values beside it. */
static void add_enum(struct builder *b, const char *scope, const enum_proto *e,
		     size_t file)
{
	for (size_t i = 0; i < e->n_value; i++)
		add_symbol(b, join(scope, e->value[i]->name), file);
	add_symbol(b, join(scope, e->name), file);
}

static void add_message(struct builder *b, const char *scope,
			const message_proto *m, size_t file)
{
	char *full = join(scope, m->name);

	if (!full) {
		b->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < m->n_nested_type; i++)
		add_message(b, full, m->nested_type[i], file);
	for (size_t i = 0; i < m->n_enum_type; i++)
		add_enum(b, full, m->enum_type[i], file);
	for (size_t i = 0; i < m->n_field; i++)
		add_symbol(b, join(full, m->field[i]->name), file);
	for (size_t i = 0; i < m->n_oneof_decl; i++)
		add_symbol(b, join(full, m->oneof_decl[i]->name), file);
	for (size_t i = 0; i < m->n_extension; i++)
		add_extension(b, full, m->extension[i], file);
	add_symbol(b, full, file);
}

static void add_symbols(struct builder *b, size_t file)
{
	const file_proto *fd = b->ix->files[file].fd;
	const char *pkg = fd->package ? fd->package : "";

	for (size_t i = 0; i < fd->n_message_type; i++)
		add_message(b, pkg, fd->message_type[i], file);
	for (size_t i = 0; i < fd->n_enum_type; i++)
		add_enum(b, pkg, fd->enum_type[i], file);
	for (size_t i = 0; i < fd->n_extension; i++)
		add_extension(b, pkg, fd->extension[i], file);
	for (size_t i = 0; i < fd->n_service; i++) {
		const Google__Protobuf__ServiceDescriptorProto *s = fd->service[i];
		char *full = join(pkg, s->name);

		for (size_t j = 0; full && j < s->n_method; j++)
			add_symbol(b, join(full, s->method[j]->name), file);
		add_symbol(b, full, file);
	}
}

static void add_file(struct builder *b, const char *name, const uint8_t *data,
		     size_t len)
{
	struct refl_index *ix = b->ix;
	file_proto *fd;

	if (!name || !data || !len || refl_find_file(ix, name) >= 0)
		return;
	fd = google__protobuf__file_descriptor_proto__unpack(NULL, len, data);
	if (!fd)
		return; /* not a descriptor (or no memory): not served */
	if (reserve((void **)&ix->files, &b->cap_files, ix->nfiles,
		    sizeof(*ix->files)) < 0) {
		google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
		b->err = -ENOMEM;
		return;
	}
	ix->files[ix->nfiles] = (struct refl_file){ name, data, len, fd };
	add_symbols(b, ix->nfiles++);
}

static int symbol_cmp(const void *a, const void *b)
{
	return strcmp(((const struct refl_symbol *)a)->name,
		      ((const struct refl_symbol *)b)->name);
}

int refl_index_build(struct refl_index *ix, const lrpc_service_desc *const *descs,
		     size_t n)
{
	struct builder b = { .ix = ix };

	memset(ix, 0, sizeof(*ix));
	ix->services = calloc(n ? n : 1, sizeof(*ix->services));
	if (!ix->services)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const lrpc_service_desc *d = descs[i];

		ix->services[ix->nservices++] = d->name;
		add_file(&b, d->proto_file, d->file_descriptor,
			 d->file_descriptor_len);
		/* ABI 2 had reserved space there, always NULL. */
		for (const lrpc_file_desc *f = d->abi_version >= 3 ?
			     d->dependencies : NULL; f && f->name; f++)
			add_file(&b, f->name, f->data, f->len);
	}
	if (b.err < 0) {
		refl_index_free(ix);
		return b.err;
	}
	if (ix->nsymbols)	/* qsort must not see a NULL array */
		qsort(ix->symbols, ix->nsymbols, sizeof(*ix->symbols), symbol_cmp);
	return 0;
}

void refl_index_free(struct refl_index *ix)
{
	for (size_t i = 0; i < ix->nfiles; i++)
		google__protobuf__file_descriptor_proto__free_unpacked(ix->files[i].fd, NULL);
	for (size_t i = 0; i < ix->nsymbols; i++)
		free(ix->symbols[i].name);
	free(ix->files);
	free(ix->symbols);
	free(ix->exts);
	free(ix->services);
	memset(ix, 0, sizeof(*ix));
}

long refl_find_file(const struct refl_index *ix, const char *name)
{
	for (size_t i = 0; i < ix->nfiles; i++)
		if (strcmp(ix->files[i].name, name) == 0)
			return (long)i;
	return -1;
}

long refl_find_symbol(const struct refl_index *ix, const char *symbol)
{
	struct refl_symbol key = { (char *)symbol, 0 };
	const struct refl_symbol *s;

	if (!ix->nsymbols)
		return -1;
	s = bsearch(&key, ix->symbols, ix->nsymbols, sizeof(key), symbol_cmp);
	return s ? (long)s->file : -1;
}

long refl_find_ext(const struct refl_index *ix, const char *type, int32_t number)
{
	for (size_t i = 0; i < ix->nexts; i++)
		if (ix->exts[i].number == number &&
		    strcmp(ix->exts[i].extendee, type) == 0)
			return (long)ix->exts[i].file;
	return -1;
}

static bool listed(const size_t *out, size_t n, size_t file)
{
	for (size_t i = 0; i < n; i++)
		if (out[i] == file)
			return true;
	return false;
}

size_t refl_closure(const struct refl_index *ix, size_t file, size_t *out)
{
	size_t n = 0;

	/* out doubles as the work list: each file's imports are appended
	 * after it, so the walk ends when it catches up. */
	out[n++] = file;
	for (size_t i = 0; i < n; i++) {
		const file_proto *fd = ix->files[out[i]].fd;

		for (size_t j = 0; j < fd->n_dependency; j++) {
			long dep = refl_find_file(ix, fd->dependency[j]);

			if (dep >= 0 && !listed(out, n, (size_t)dep))
				out[n++] = (size_t)dep;
		}
	}
	return n;
}
