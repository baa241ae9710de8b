/* SPDX-License-Identifier: MIT */
/*
 * Checks run on a file before anything is emitted, so that every problem
 * the user can fix in the .proto is reported by protoc with the file,
 * service and method it concerns, instead of surfacing later as a C
 * compiler error in generated code.
 */
#include <stdlib.h>
#include <string.h>

#include "rpcgen.h"

typedef struct sym {
	const char *name;
	const char *owner;   /* what declares it, for the message */
	const pb_file *file; /* whose generated code declares it */
} sym;

typedef struct sym_list {
	sym *v;
	size_t n;
	size_t cap;
} sym_list;

static void sym_add(sym_list *l, const char *name, const char *owner, const pb_file *file)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		sym *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			rpcgen_die("out of memory");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (sym){ name, owner, file };
}

/* What protoc-c declares for a message (and its nested ones) in x.pb-c.h. */
static void add_message_syms(sym_list *l, const pb_file *file, const char *scope,
			     const pb_message *m)
{
	static const char *const fns[] = { "init", "descriptor", "get_packed_size",
					   "pack", "pack_to_buffer", "unpack",
					   "free_unpacked" };
	const char *full = *scope ? rpcgen_asprintf("%s.%s", scope, m->name) :
				    rpcgen_strdup(m->name);
	const char *owner = rpcgen_asprintf("protobuf-c's message %s", full);
	const char *c = name_full_to_c(full, file);
	const char *lower = name_full_to_lower(full, file);

	sym_add(l, c, owner, file);
	sym_add(l, rpcgen_asprintf("%s_Closure", c), owner, file);
	sym_add(l, rpcgen_asprintf("%s__INIT", name_full_to_upper(full, file)), owner, file);
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		sym_add(l, rpcgen_asprintf("%s__%s", lower, fns[i]), owner, file);
	for (size_t i = 0; i < m->n_nested_type; i++)
		add_message_syms(l, file, full, m->nested_type[i]);
}

/* Ours and protoc-c's names for one service and its methods. */
static void add_service_syms(sym_list *l, const svc_names *sn, const type_index *ti)
{
	const pb_file *file = sn->file;
	const char *pbc = rpcgen_asprintf("protobuf-c's service %s", sn->full_name);
	const char *own = rpcgen_asprintf("lazyrpc's service %s", sn->full_name);
	static const char *const pbc_fns[] = { "init", "descriptor", "method_descriptors",
					       "method_indices_by_name" };

	for (size_t i = 0; i < sizeof(pbc_fns) / sizeof(pbc_fns[0]); i++)
		sym_add(l, rpcgen_asprintf("%s__%s", sn->lower, pbc_fns[i]), pbc, file);
	sym_add(l, rpcgen_asprintf("%s_Service", sn->c_name), pbc, file);
	sym_add(l, rpcgen_asprintf("%s_ServiceDestroy", sn->c_name), pbc, file);
	sym_add(l, rpcgen_asprintf("%s__BASE_INIT", sn->upper), pbc, file);
	sym_add(l, rpcgen_asprintf("%s__INIT", sn->upper), pbc, file);

	sym_add(l, rpcgen_asprintf("%s_Handlers", sn->c_name), own, file);
	sym_add(l, rpcgen_asprintf("%s__service_desc", sn->lower), own, file);
	sym_add(l, rpcgen_asprintf("%s__register", sn->lower), own, file);
	sym_add(l, rpcgen_asprintf("%s__lrpc_methods", sn->lower), own, file);

	for (size_t i = 0; i < sn->svc->n_method; i++) {
		method_names mn;

		method_names_init(&mn, sn, sn->svc->method[i], ti);
		const char *m_pbc = rpcgen_asprintf("protobuf-c's stub for method %s of service %s",
						    mn.m->name, sn->full_name);
		const char *m_own = rpcgen_asprintf("lazyrpc's stubs for method %s of service %s",
						    mn.m->name, sn->full_name);
		sym_add(l, rpcgen_asprintf("%s__%s", sn->lower, mn.lower), m_pbc, file);
		for (const char *const *fn = name_method_fns(mn.kind); *fn; fn++)
			sym_add(l, rpcgen_asprintf("%s__%s__%s", sn->lower, mn.lower, *fn), m_own,
				file);
		sym_add(l, rpcgen_asprintf("%s__%s__ID", sn->upper, name_camel_to_upper(mn.m->name)),
			m_own, file);
		sym_add(l, rpcgen_asprintf("%s_Handlers.%s", sn->c_name, mn.member), m_own, file);
	}
}

static int cmp_sym(const void *a, const void *b)
{
	return strcmp(((const sym *)a)->name, ((const sym *)b)->name);
}

/* Every C name the generated code of \p file (both plugins' outputs) declares. */
static void add_file_syms(sym_list *l, const pb_file *file, const type_index *ti)
{
	for (size_t i = 0; i < file->n_message_type; i++)
		add_message_syms(l, file, file->package ? file->package : "",
				 file->message_type[i]);
	for (size_t i = 0; i < file->n_service; i++) {
		svc_names sn;

		svc_names_init(&sn, file, file->service[i]);
		add_service_syms(l, &sn, ti);
	}
}

static const char *owner_in(const sym *s, const pb_file *file)
{
	return s->file == file ? s->owner : rpcgen_asprintf("%s (in %s)", s->owner, s->file->name);
}

/*
 * Two declarations of one C name do not compile (or link); find them here
 * instead. \p file is checked against itself and every file of the request
 * (what it imports, and other files on the same protoc command line), so
 * two files of one package cannot both declare, say, pkg__svc__register.
 * Files that were not in one protoc run are out of reach. Clashes of
 * protoc-c's names with protoc-c's count too: protoc-c does not check (a
 * method Init gives two functions pkg__svc__init).
 */
static char *check_collisions(const pb_file *file, const pb_request *req, const type_index *ti)
{
	sym_list l = { 0 };
	char *err = NULL;

	for (size_t f = 0; f < req->n_proto_file; f++)
		add_file_syms(&l, req->proto_file[f], ti);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_sym);
	for (size_t i = 0; i + 1 < l.n && !err; i++) {
		for (size_t j = i + 1; j < l.n && strcmp(l.v[i].name, l.v[j].name) == 0; j++) {
			if (l.v[i].file != file && l.v[j].file != file)
				continue; /* reported when that file is generated */
			err = rpcgen_asprintf("%s: the C name %s is generated twice, for %s and for %s; "
					      "rename one of them",
					      file->name, l.v[i].name, owner_in(&l.v[i], file),
					      owner_in(&l.v[j], file));
			break;
		}
	}
	free(l.v);
	return err;
}

/* Names protoc-c cannot take, unknown types and method-id collisions, per service. */
static char *check_service(const pb_file *file, const pb_service *svc, const type_index *ti)
{
	svc_names sn;
	method_names *mns = rpcgen_alloc((svc->n_method + 1) * sizeof(*mns));

	svc_names_init(&sn, file, svc);
	for (size_t i = 0; i < svc->n_method; i++) {
		const pb_method *m = svc->method[i];
		method_names *mn = &mns[i];

		method_names_init(mn, &sn, m, ti);
		if (name_breaks_pbc(mn->lower))
			return rpcgen_asprintf("%s: service %s method %s: protoc-c names its member "
					       "of %s_Service '%s', a C keyword or predefined macro, "
					       "so %s.pb-c.h does not compile; rename the method",
					       file->name, sn.full_name, m->name, sn.c_name,
					       mn->lower, name_strip_proto(file->name));
		if (!mn->in || !mn->out)
			return rpcgen_asprintf("%s: service %s method %s: %s type %s is not a "
					       "message type of this request",
					       file->name, sn.full_name, m->name,
					       mn->in ? "output" : "input",
					       mn->in ? m->output_type : m->input_type);
		for (size_t j = 0; j < i; j++)
			if (mns[j].id == mn->id)
				return rpcgen_asprintf("%s: service %s: methods %s and %s have the same "
						       "method id 0x%08x (lrpc_method_id of %s and %s); "
						       "rename one of them",
						       file->name, sn.full_name, mns[j].m->name,
						       m->name, (unsigned)mn->id,
						       mns[j].full_name, mn->full_name);
	}
	return NULL;
}

char *check_file(const pb_file *file, const pb_request *req, const type_index *ti)
{
	char *err;

	if (!file->name || !name_is_c_string_safe(file->name))
		return rpcgen_asprintf("%s: file names may only hold letters, digits and "
				       "_-./+@=,~ (they are printed into C code)",
				       file->name ? file->name : "(unnamed file)");
	/* The files it imports are printed into it too (their descriptors);
	 * protoc sends exactly those besides the files to generate. */
	for (size_t i = 0; i < req->n_proto_file; i++)
		if (!req->proto_file[i]->name ||
		    !name_is_c_string_safe(req->proto_file[i]->name))
			return rpcgen_asprintf("%s imports a file named '%s': file names may "
					       "only hold letters, digits and _-./+@=,~",
					       file->name, req->proto_file[i]->name ?
					       req->proto_file[i]->name : "");
	for (size_t i = 0; i < file->n_service; i++) {
		err = check_service(file, file->service[i], ti);
		if (err)
			return err;
	}
	return check_collisions(file, req, ti);
}
