// SPDX-License-Identifier: MIT
/*
 * The reflection client's replies (services/gateway/pbjson_refl.c: what a
 * server the gateway or `lazyrpc describe`/`call` asks sends back), and
 * the codec over the descriptors they carry. The first byte picks what
 * was asked:
 *  - even: a symbol's file; the rest is the reply, its files go into a
 *    pool, twice (the second time every file is already there); then
 *    every method's request and reply message of every service in the
 *    pool encodes {} and decodes the empty message and the input itself;
 *  - odd: the service list; the names are taken and freed.
 * Invariants: no crash, leak or overread; a reply taken fills in a
 * status on failure; {} and the empty message go through any message a
 * pool accepted.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "pbjson_refl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void exercise(const pbjson_pool *pool, const pbjson_msg *m, const uint8_t *data,
		     size_t size)
{
	char err[PBJSON_ERR_MAX];
	json_t *empty = json_object(), *j = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (!m || !empty)
		fz_die("out of memory, or a method without its message");
	if (pbjson_encode(pool, m, empty, NULL, &buf, &len, err) < 0)
		fz_die("{} does not encode as %s: %s", pbjson_msg_name(pool, m), err);
	free(buf);
	if (pbjson_decode(pool, m, NULL, 0, 0, &j, err) < 0)
		fz_die("the empty message does not decode as %s: %s", pbjson_msg_name(pool, m),
		       err);
	json_decref(j);
	j = NULL;
	if (pbjson_decode(pool, m, data, size, 1, &j, err) == 0)
		json_decref(j);
	json_decref(empty);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lrpc_status st = { 0 };
	const pbjson_svc *const *svcs;
	const char *const *names;
	pbjson_pool *pool;
	char **listed;
	size_t n;

	if (!size)
		return 0;
	if (data[0] & 1) {
		if (pbjson_refl__reply(NULL, data + 1, size - 1, &listed, &n, &st) == LRPC_OK)
			pbjson_refl_names_free(listed, n);
		else if (!st.message[0])
			fz_die("a refused list says nothing");
		return 0;
	}
	pool = pbjson_pool_new();
	if (!pool)
		fz_die("out of memory");
	if (pbjson_refl__reply(pool, data + 1, size - 1, NULL, NULL, &st) != LRPC_OK) {
		if (!st.message[0])
			fz_die("a refused reply says nothing");
	} else if (pbjson_refl__reply(pool, data + 1, size - 1, NULL, NULL, &st) != LRPC_OK) {
		fz_die("a reply taken once is refused the second time: %s", st.message);
	}
	/* Only a pool that took every file is used; the gateway and the
	 * tool use no other. */
	n = st.code == LRPC_OK ? pbjson_services(pool, &svcs, &names) : 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < svcs[i]->n_method; k++) {
			const pbjson_method *m = svcs[i]->method[k];
			const pbjson_msg *in, *out;

			in = pbjson_find_msg(pool, m->input_type ? m->input_type : "");
			out = pbjson_find_msg(pool, m->output_type ? m->output_type : "");

			if (in)
				exercise(pool, in, data + 1, size - 1);
			if (out)
				exercise(pool, out, data + 1, size - 1);
		}
	pbjson_pool_free(pool);
	return 0;
}
