// SPDX-License-Identifier: MIT
/*
 * The gateway's JSON <-> protobuf codec (services/gateway/pbjson_*),
 * against gwtest.Kinds (tests/services/gwtest.proto: every field kind)
 * and gwtest.Wkts (gwwkt.proto: the well-known types). The first byte
 * picks the direction and the message:
 *  - bit 0 clear: the rest is protobuf bytes a backend sent, decoded to
 *    JSON; set: the rest is a JSON body a client sent, parsed by jansson
 *    and encoded;
 *  - bit 1 clear: gwtest.Kinds; set: gwtest.Wkts.
 * Invariants: no crash, leak or overread either way; what decodes
 * encodes again, and a second round gives the same JSON as the first
 * (J1 = decode(encode(J0)) equals decode(encode(J1))).
 */
#include <stdlib.h>

#include "fuzz.h"
#include "gwtest.lrpc.h"
#include "gwwkt_set.h"
#include "pbjson.h"

static pbjson_pool *pool;
static const pbjson_msg *kinds, *wkts;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const lrpc_service_desc *d = &gwtest__gw_test__service_desc;
	char err[PBJSON_ERR_MAX];

	(void)argc, (void)argv;
	pool = pbjson_pool_new();
	if (!pool || pbjson_pool_add_file(pool, d->file_descriptor, d->file_descriptor_len,
					  err) < 0)
		fz_die("pool: %s", err);
	if (pbjson_pool_add_set(pool, gwwkt_set, gwwkt_set_len, err) < 0)
		fz_die("pool: %s", err);
	kinds = pbjson_find_msg(pool, "gwtest.Kinds");
	wkts = pbjson_find_msg(pool, "gwtest.Wkts");
	if (!kinds || !wkts)
		fz_die("gwtest.Kinds or gwtest.Wkts not in the pool");
	return 0;
}

/* encode then decode; NULL where either refuses. */
static json_t *round_trip(const pbjson_msg *m, const json_t *j, bool must)
{
	char err[PBJSON_ERR_MAX];
	uint8_t *buf;
	size_t len;
	json_t *out = NULL;

	if (pbjson_encode(pool, m, j, NULL, &buf, &len, err) < 0) {
		if (must)
			fz_die("decoded JSON does not encode: %s", err);
		return NULL;
	}
	if (pbjson_decode(pool, m, buf, len, 0, &out, err) < 0)
		fz_die("encoded bytes do not decode: %s", err);
	free(buf);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PBJSON_ERR_MAX];
	json_t *j0 = NULL, *j1, *j2;
	const pbjson_msg *m;

	if (!size)
		return 0;
	m = data[0] & 2 ? wkts : kinds;
	if (!(data[0] & 1)) {
		if (pbjson_decode(pool, m, data + 1, size - 1, 0, &j0, err) < 0)
			return 0;
	} else {
		j0 = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
		if (!j0)
			return 0;
	}
	j1 = round_trip(m, j0, !(data[0] & 1));
	if (j1) {
		j2 = round_trip(m, j1, true);
		if (!json_equal(j1, j2)) {
			char *a = json_dumps(j1, JSON_COMPACT), *b = json_dumps(j2, JSON_COMPACT);

			fz_die("second round differs:\n%s\n%s", a, b);
		}
		json_decref(j2);
	}
	json_decref(j1);
	json_decref(j0);
	return 0;
}
