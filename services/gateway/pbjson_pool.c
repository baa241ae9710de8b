// SPDX-License-Identifier: MIT
/*
 * The descriptor pool: FileDescriptorProtos decoded by protobuf-c's
 * descriptor.pb-c, and a sorted index of every message, enum and service
 * by full name, so that the codec resolves a field's type_name with one
 * binary search.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"

enum sym_kind { SYM_MSG, SYM_ENUM, SYM_SVC };

struct sym {
	char *name; /* "pkg.Outer.Inner" */
	enum sym_kind kind;
	const void *ptr;
	const Google__Protobuf__FileDescriptorProto *file;
};

struct pbjson_pool {
	Google__Protobuf__FileDescriptorProto **files;
	size_t n_files;
	struct sym *syms;
	size_t n_syms, cap_syms;
	const pbjson_svc **svcs;
	const char **svc_names;
	size_t n_svcs;
};

pbjson_pool *pbjson_pool_new(void)
{
	return calloc(1, sizeof(pbjson_pool));
}

void pbjson_pool_free(pbjson_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_files; i++)
		google__protobuf__file_descriptor_proto__free_unpacked(p->files[i], NULL);
	for (size_t i = 0; i < p->n_syms; i++)
		free(p->syms[i].name);
	free(p->files);
	free(p->syms);
	free(p->svcs);
	free(p->svc_names);
	free(p);
}

static int sym_add(pbjson_pool *p, const char *scope, const char *name,
		   enum sym_kind kind, const void *ptr,
		   const Google__Protobuf__FileDescriptorProto *file)
{
	size_t len = strlen(scope) + strlen(name) + 2;
	char *full = malloc(len);

	if (!full)
		return -ENOMEM;
	snprintf(full, len, "%s%s%s", scope, *scope ? "." : "", name);
	if (p->n_syms == p->cap_syms) {
		size_t cap = p->cap_syms ? 2 * p->cap_syms : 64;
		struct sym *s = realloc(p->syms, cap * sizeof(*s));

		if (!s) {
			free(full);
			return -ENOMEM;
		}
		p->syms = s;
		p->cap_syms = cap;
	}
	p->syms[p->n_syms++] = (struct sym){ full, kind, ptr, file };
	return 0;
}

static int add_msg(pbjson_pool *p, const char *scope, const pbjson_msg *m,
		   const Google__Protobuf__FileDescriptorProto *file, unsigned int depth)
{
	char inner[1024];
	int ret;

	if (!m->name || depth > PBJSON_MAX_DEPTH)
		return -EINVAL;
	ret = sym_add(p, scope, m->name, SYM_MSG, m, file);
	if (ret < 0)
		return ret;
	if ((size_t)snprintf(inner, sizeof(inner), "%s%s%s", scope, *scope ? "." : "",
			     m->name) >= sizeof(inner))
		return -EINVAL;
	for (size_t i = 0; i < m->n_nested_type; i++) {
		ret = add_msg(p, inner, m->nested_type[i], file, depth + 1);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < m->n_enum_type; i++) {
		if (!m->enum_type[i]->name)
			return -EINVAL;
		ret = sym_add(p, inner, m->enum_type[i]->name, SYM_ENUM, m->enum_type[i], file);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int cmp_sym(const void *a, const void *b)
{
	return strcmp(((const struct sym *)a)->name, ((const struct sym *)b)->name);
}

static int index_file(pbjson_pool *p, const Google__Protobuf__FileDescriptorProto *f)
{
	const char *pkg = f->package ? f->package : "";
	int ret = 0;

	for (size_t i = 0; i < f->n_message_type && !ret; i++)
		ret = add_msg(p, pkg, f->message_type[i], f, 0);
	for (size_t i = 0; i < f->n_enum_type && !ret; i++)
		ret = f->enum_type[i]->name ?
			sym_add(p, pkg, f->enum_type[i]->name, SYM_ENUM, f->enum_type[i], f) :
			-EINVAL;
	for (size_t i = 0; i < f->n_service && !ret; i++) {
		const pbjson_svc **s;
		const char **n;

		if (!f->service[i]->name)
			return -EINVAL;
		ret = sym_add(p, pkg, f->service[i]->name, SYM_SVC, f->service[i], f);
		if (ret < 0)
			break;
		s = realloc(p->svcs, (p->n_svcs + 1) * sizeof(*s));
		if (!s)
			return -ENOMEM;
		p->svcs = s;
		n = realloc(p->svc_names, (p->n_svcs + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->svc_names = n;
		p->svcs[p->n_svcs] = f->service[i];
		p->svc_names[p->n_svcs++] = p->syms[p->n_syms - 1].name;
	}
	/* A file may define nothing; qsort must not see a NULL array. */
	if (ret == 0 && p->n_syms)
		qsort(p->syms, p->n_syms, sizeof(*p->syms), cmp_sym);
	return ret;
}

int pbjson_pool_has_file(const pbjson_pool *p, const char *name)
{
	for (size_t i = 0; i < p->n_files; i++)
		if (p->files[i]->name && !strcmp(p->files[i]->name, name))
			return 1;
	return 0;
}

int pbjson_pool_add_file(pbjson_pool *p, const void *data, size_t len,
			 char err[PBJSON_ERR_MAX])
{
	Google__Protobuf__FileDescriptorProto *f, **files;
	int ret;

	f = google__protobuf__file_descriptor_proto__unpack(NULL, len, data);
	if (!f || !f->name) {
		snprintf(err, PBJSON_ERR_MAX, "a file descriptor of %zu bytes does not decode",
			 len);
		google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);
		return -EINVAL;
	}
	if (pbjson_pool_has_file(p, f->name)) {
		google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);
		return 0;
	}
	files = realloc(p->files, (p->n_files + 1) * sizeof(*files));
	if (!files) {
		google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);
		return -ENOMEM;
	}
	p->files = files;
	/* Owned by the pool from here, even if its index is incomplete. */
	p->files[p->n_files++] = f;
	ret = index_file(p, f);
	if (ret == -EINVAL)
		snprintf(err, PBJSON_ERR_MAX, "file descriptor %s has a nameless or too "
			 "deeply nested definition", f->name);
	else if (ret < 0)
		snprintf(err, PBJSON_ERR_MAX, "out of memory indexing %s", f->name);
	return ret;
}

int pbjson_pool_add_set(pbjson_pool *p, const void *data, size_t len,
			char err[PBJSON_ERR_MAX])
{
	Google__Protobuf__FileDescriptorSet *set;
	int ret = 0;

	set = google__protobuf__file_descriptor_set__unpack(NULL, len, data);
	if (!set) {
		snprintf(err, PBJSON_ERR_MAX, "not a FileDescriptorSet (%zu bytes)", len);
		return -EINVAL;
	}
	for (size_t i = 0; i < set->n_file && !ret; i++) {
		size_t n = google__protobuf__file_descriptor_proto__get_packed_size(set->file[i]);
		uint8_t *buf = malloc(n ? n : 1);

		if (!buf) {
			ret = -ENOMEM;
			break;
		}
		google__protobuf__file_descriptor_proto__pack(set->file[i], buf);
		ret = pbjson_pool_add_file(p, buf, n, err);
		free(buf);
	}
	google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
	return ret;
}

static const struct sym *find(const pbjson_pool *p, const char *name, enum sym_kind kind)
{
	struct sym key = { .name = (char *)name };
	const struct sym *s;

	if (!p->n_syms)
		return NULL;
	if (*name == '.')
		key.name++;
	s = bsearch(&key, p->syms, p->n_syms, sizeof(*p->syms), cmp_sym);
	return s && s->kind == kind ? s : NULL;
}

const pbjson_msg *pbjson_find_msg(const pbjson_pool *p, const char *full_name)
{
	const struct sym *s = find(p, full_name, SYM_MSG);

	return s ? s->ptr : NULL;
}

const pbjson_svc *pbjson_find_service(const pbjson_pool *p, const char *full_name)
{
	const struct sym *s = find(p, full_name, SYM_SVC);

	return s ? s->ptr : NULL;
}

const Google__Protobuf__EnumDescriptorProto *pbjson_find_enum(const pbjson_pool *p,
							       const char *full_name)
{
	const struct sym *s = find(p, full_name, SYM_ENUM);

	return s ? s->ptr : NULL;
}

const pbjson_method *pbjson_find_method(const pbjson_svc *svc, const char *name)
{
	for (size_t i = 0; svc && i < svc->n_method; i++)
		if (svc->method[i]->name && !strcmp(svc->method[i]->name, name))
			return svc->method[i];
	return NULL;
}

const char *pbjson_msg_name(const pbjson_pool *p, const pbjson_msg *m)
{
	for (size_t i = 0; i < p->n_syms; i++)
		if (p->syms[i].ptr == m)
			return p->syms[i].name;
	return m->name;
}

const Google__Protobuf__FileDescriptorProto *
pbjson_symbol_file(const pbjson_pool *p, const char *full_name)
{
	struct sym key = { .name = (char *)full_name };
	const struct sym *s;

	if (!p->n_syms)
		return NULL;
	s = bsearch(&key, p->syms, p->n_syms, sizeof(*p->syms), cmp_sym);
	return s ? s->file : NULL;
}

size_t pbjson_services(const pbjson_pool *p, const pbjson_svc *const **svcs,
		       const char *const **names)
{
	if (svcs)
		*svcs = p->svcs;
	if (names)
		*names = p->svc_names;
	return p->n_svcs;
}

const pbjson_msg *pbjson__field_msg(const pbjson_pool *p,
				    const Google__Protobuf__FieldDescriptorProto *f)
{
	return f->type_name ? pbjson_find_msg(p, f->type_name) : NULL;
}

const Google__Protobuf__EnumDescriptorProto *
pbjson__field_enum(const pbjson_pool *p, const Google__Protobuf__FieldDescriptorProto *f)
{
	return f->type_name ? pbjson_find_enum(p, f->type_name) : NULL;
}

const char *pbjson__json_name(const Google__Protobuf__FieldDescriptorProto *f,
			      char *buf, size_t len)
{
	size_t o = 0;
	int up = 0;

	if (f->json_name)
		return f->json_name;
	/* protoc's rule: drop each '_' and capitalise the letter after it. */
	for (const char *c = f->name; *c && o + 1 < len; c++) {
		if (*c == '_') {
			up = 1;
			continue;
		}
		buf[o++] = up && *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
		up = 0;
	}
	buf[o] = '\0';
	return buf;
}

int pbjson__is_map_entry(const pbjson_msg *m)
{
	return m->options && m->options->has_map_entry && m->options->map_entry &&
	       m->n_field == 2;
}
