/* SPDX-License-Identifier: MIT */
/*
 * Allocation and string helpers. The generator is a short-lived process
 * that builds many small strings (names, paths) whose lifetimes all end at
 * exit, so they come from one arena freed in one place: no ownership to
 * track in the emitters, and sanitizer runs stay leak-free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpcgen.h"

#define ARENA_BLOCK ((size_t)64 << 10)

struct arena_block {
	struct arena_block *next;
	size_t used;
	size_t cap;
	_Alignas(max_align_t) unsigned char data[];
};

static struct arena_block *arena_head;

void rpcgen_die(const char *fmt, ...)
{
	va_list ap;

	fputs("protoc-gen-lazyrpc: internal error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Bump allocation keeps small strings cheap; big requests get their own block. */
void *rpcgen_alloc(size_t size)
{
	size_t align = _Alignof(max_align_t);
	size_t need = (size + align - 1) & ~(align - 1);
	struct arena_block *b = arena_head;

	if (need < size)
		rpcgen_die("allocation of %zu bytes overflows", size);
	if (!b || b->cap - b->used < need) {
		size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			rpcgen_die("out of memory (%zu bytes)", cap);
		b->cap = cap;
		b->used = 0;
		b->next = arena_head;
		arena_head = b;
	}
	void *p = b->data + b->used;
	b->used += need;
	memset(p, 0, size);
	return p;
}

char *rpcgen_strndup(const char *s, size_t n)
{
	char *d = rpcgen_alloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *rpcgen_strdup(const char *s)
{
	return rpcgen_strndup(s, strlen(s));
}

/*
 * Formatting names is where most strings come from; one helper keeps it
 * terse. Names are short, so a stack buffer usually suffices and the
 * format runs once.
 */
char *rpcgen_asprintf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		rpcgen_die("bad format '%s'", fmt);
	if ((size_t)n < sizeof(buf))
		return rpcgen_strndup(buf, (size_t)n);
	char *s = rpcgen_alloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void rpcgen_arena_free(void)
{
	while (arena_head) {
		struct arena_block *next = arena_head->next;

		free(arena_head);
		arena_head = next;
	}
}

/* Output files grow by appends only, so a doubling buffer is all they need. */
void sb_append(strbuf *sb, const char *s, size_t n)
{
	if (sb->cap - sb->len <= n) {
		size_t cap = sb->cap ? sb->cap : 4096;

		while (cap - sb->len <= n) {
			if (cap > SIZE_MAX / 2)
				rpcgen_die("output too large");
			cap *= 2;
		}
		char *nb = realloc(sb->buf, cap);
		if (!nb)
			rpcgen_die("out of memory (%zu bytes)", cap);
		sb->buf = nb;
		sb->cap = cap;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void sb_puts(strbuf *sb, const char *s)
{
	sb_append(sb, s, strlen(s));
}

void sb_free(strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}
