// SPDX-License-Identifier: MIT
/*
 * Per-call memory: the unpacked request, the reply's fields and whatever the
 * handler asks for live until the reply is packed, then go all at once. The
 * first chunk is kept across calls so a steady stream of small calls does
 * not touch malloc.
 */
#include <stdlib.h>

#include "core/internal.h"

#define CHUNK_SIZE 16384u

struct lrpc__arena_chunk {
	struct lrpc__arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

static void *pb_alloc(void *data, size_t size)
{
	return lrpc__arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr;
}

void lrpc__arena_init(struct lrpc__arena *a)
{
	a->chunks = NULL;
	a->pb.alloc = pb_alloc;
	a->pb.free = pb_free;
	a->pb.allocator_data = a;
}

void *lrpc__arena_alloc(struct lrpc__arena *a, size_t size)
{
	struct lrpc__arena_chunk *c = a->chunks;
	size_t need = (size + _Alignof(max_align_t) - 1) &
		      ~(_Alignof(max_align_t) - 1);
	size_t csize;

	if (need < size)
		return NULL;
	if (c && c->size - c->used >= need) {
		void *p = (char *)c->data + c->used;

		c->used += need;
		return p;
	}
	csize = need > CHUNK_SIZE ? need : CHUNK_SIZE;
	if (csize > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + csize);
	if (!c)
		return NULL;
	c->size = csize;
	c->used = need;
	/* A big one-off goes behind the current chunk so that the current
	 * chunk's free space stays usable. */
	if (a->chunks && csize > CHUNK_SIZE) {
		c->next = a->chunks->next;
		a->chunks->next = c;
	} else {
		c->next = a->chunks;
		a->chunks = c;
	}
	return c->data;
}

void lrpc__arena_reset(struct lrpc__arena *a)
{
	struct lrpc__arena_chunk *keep = NULL, *c = a->chunks;

	while (c) {
		struct lrpc__arena_chunk *next = c->next;

		if (!keep && c->size == CHUNK_SIZE) {
			keep = c;
			keep->used = 0;
			keep->next = NULL;
		} else {
			free(c);
		}
		c = next;
	}
	a->chunks = keep;
}

void lrpc__arena_recycle(struct lrpc__arena *a, size_t max)
{
	struct lrpc__arena_chunk *c, *next;
	size_t total = 0;

	for (c = a->chunks; c; c = c->next)
		total += c->size;
	if (total <= CHUNK_SIZE || total > max) {
		lrpc__arena_reset(a);
		return;
	}
	if (!a->chunks->next) {
		a->chunks->used = 0;
		return;
	}
	for (c = a->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	/* No room: the next call starts empty, as after a reset. */
	c = malloc(sizeof(*c) + total);
	if (c) {
		c->size = total;
		c->used = 0;
		c->next = NULL;
	}
	a->chunks = c;
}

void lrpc__arena_destroy(struct lrpc__arena *a)
{
	lrpc__arena_reset(a);
	free(a->chunks);
	a->chunks = NULL;
}
