/* SPDX-License-Identifier: MIT */
/*
 * What reflection knows (refl_index.c): the files the server's services
 * embed, by name, and the symbols and extensions they declare. Built once
 * from the server's services, then read by any thread.
 */
#ifndef LRPC_STD_REFL_INDEX_H
#define LRPC_STD_REFL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include <lazyrpc/service.h>

#include "google/protobuf/descriptor.pb-c.h"

struct refl_file {
	const char *name;
	const uint8_t *data; /* the service description's, not copied */
	size_t len;
	Google__Protobuf__FileDescriptorProto *fd; /* decoded; NULL: does not */
};

struct refl_symbol {
	char *name;  /* "pkg.Outer.Inner", "pkg.Svc.Method" */
	size_t file; /* index in files */
};

struct refl_ext {
	const char *extendee; /* "pkg.Msg", without the leading dot */
	int32_t number;
	size_t file;
};

struct refl_index {
	struct refl_file *files;
	size_t nfiles;
	struct refl_symbol *symbols; /* sorted by name */
	size_t nsymbols;
	struct refl_ext *exts;
	size_t nexts;
	const char **services; /* every service's full name, in order added */
	size_t nservices;
};

/* Index the services \p descs (the server's, in the order added).
 * \return 0, -ENOMEM (*ix then holds nothing). */
int refl_index_build(struct refl_index *ix, const lrpc_service_desc *const *descs,
		     size_t n);
void refl_index_free(struct refl_index *ix);

/* \return the index of the file named \p name, or -1. */
long refl_find_file(const struct refl_index *ix, const char *name);
/* \return the index of the file declaring \p symbol, or -1. */
long refl_find_symbol(const struct refl_index *ix, const char *symbol);
/* \return the index of the file extending \p type with \p number, or -1. */
long refl_find_ext(const struct refl_index *ix, const char *type, int32_t number);

/*
 * \p file and every file it imports, directly or not, each once, \p file
 * first: indexes into \p out (room for ix->nfiles), their count returned.
 * Imports the index does not hold are left out.
 */
size_t refl_closure(const struct refl_index *ix, size_t file, size_t *out);

#endif
