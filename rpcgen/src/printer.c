/* SPDX-License-Identifier: MIT */
/*
 * A tiny template printer in the manner of protoc's io::Printer: templates
 * are C code with $name$ slots, so each emitter reads like the code it
 * produces instead of a chain of string appends. "$$" prints one '$'.
 */
#include <stdlib.h>
#include <string.h>

#include "rpcgen.h"

void printer_init(printer *p, strbuf *out)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
}

/*
 * Setting a key again replaces its value, so an emitter can reuse one
 * printer across a loop (one method after another). Values are not copied:
 * they live in the arena for the whole run.
 */
void printer_set(printer *p, const char *key, const char *val)
{
	for (size_t i = 0; i < p->n_vars; i++) {
		if (strcmp(p->vars[i].key, key) == 0) {
			p->vars[i].val = val;
			return;
		}
	}
	if (p->n_vars == p->cap_vars) {
		size_t cap = p->cap_vars ? p->cap_vars * 2 : 16;
		printer_var *v = realloc(p->vars, cap * sizeof(*v));

		if (!v)
			rpcgen_die("out of memory");
		p->vars = v;
		p->cap_vars = cap;
	}
	p->vars[p->n_vars].key = key;
	p->vars[p->n_vars].val = val;
	p->n_vars++;
}

static const char *printer_lookup(const printer *p, const char *key, size_t len)
{
	for (size_t i = 0; i < p->n_vars; i++) {
		if (strlen(p->vars[i].key) == len &&
		    memcmp(p->vars[i].key, key, len) == 0)
			return p->vars[i].val;
	}
	return NULL;
}

/*
 * An unknown or unterminated slot is a bug in an emitter, not in the user's
 * .proto, so it stops the generator instead of emitting broken C.
 */
void printer_print(printer *p, const char *tmpl)
{
	const char *s = tmpl;

	for (;;) {
		const char *d = strchr(s, '$');

		if (!d) {
			sb_puts(p->out, s);
			return;
		}
		sb_append(p->out, s, (size_t)(d - s));
		const char *end = strchr(d + 1, '$');
		if (!end)
			rpcgen_die("template has an unterminated '$': %s", tmpl);
		if (end == d + 1) {
			sb_append(p->out, "$", 1);
		} else {
			const char *val = printer_lookup(p, d + 1, (size_t)(end - d - 1));

			if (!val)
				rpcgen_die("template variable '%.*s' is not set",
					   (int)(end - d - 1), d + 1);
			sb_puts(p->out, val);
		}
		s = end + 1;
	}
}

void printer_free(printer *p)
{
	free(p->vars);
	p->vars = NULL;
	p->n_vars = p->cap_vars = 0;
}
