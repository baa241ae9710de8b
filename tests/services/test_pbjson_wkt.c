// SPDX-License-Identifier: MIT
/* The gateway's JSON codec on the well-known types (gwwkt.proto): each
 * one's own JSON form both ways, the bytes it stands for, the ranges and
 * spellings it refuses, and a pool that holds none of google/protobuf's
 * files (as reflection leaves them out). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "gwwkt_set.h"
#include "pbjson.h"

static pbjson_pool *pool;
static const pbjson_msg *wkts;
static char err[PBJSON_ERR_MAX];

static void setup(void)
{
	pool = pbjson_pool_new();
	ck_assert_ptr_nonnull(pool);
	ck_assert_int_eq(pbjson_pool_add_set(pool, gwwkt_set, gwwkt_set_len, err), 0);
	wkts = pbjson_find_msg(pool, "gwtest.Wkts");
	ck_assert_ptr_nonnull(wkts);
	ck_assert(!pbjson_pool_has_file(pool, "google/protobuf/timestamp.proto"));
}

/* JSON text -> bytes (*buf, the caller's). \return the codec's result. */
static int encode(const char *text, uint8_t **buf, size_t *len)
{
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	int ret;

	ck_assert_msg(j, "test JSON does not parse: %s", text);
	ret = pbjson_encode(pool, wkts, j, NULL, buf, len, err);
	json_decref(j);
	return ret;
}

/* Bytes -> compact JSON text with sorted keys (the caller frees), or
 * NULL with err set. */
static char *decode(const uint8_t *buf, size_t len)
{
	json_t *j;
	char *s;

	if (pbjson_decode(pool, wkts, buf, len, 0, &j, err) < 0)
		return NULL;
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

/* \p in encodes to exactly \p hex (when given) and decodes to \p out. */
static void round_trip(const char *in, const char *hex, const char *out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char *got;

	ck_assert_msg(encode(in, &buf, &len) == 0, "%s: %s", in, err);
	if (hex) {
		char h[512] = "";

		for (size_t i = 0; i < len && 2 * i + 2 < sizeof(h); i++)
			sprintf(h + 2 * i, "%02x", buf[i]);
		ck_assert_str_eq(h, hex);
	}
	got = decode(buf, len);
	ck_assert_msg(got, "%s: %s", in, err);
	ck_assert_str_eq(got, out);
	free(got);
	free(buf);
}

/* \p in is refused, with \p why in the error. */
static void refused(const char *in, const char *why)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	ck_assert_msg(encode(in, &buf, &len) == -22, "%s was accepted", in);
	ck_assert_ptr_null(buf);
	ck_assert_msg(strstr(err, why), "%s: \"%s\" lacks \"%s\"", in, err, why);
}

/* Peer bytes that must not decode, with \p why in the error. */
static void bytes_refused(const uint8_t *buf, size_t len, const char *why)
{
	char *got = decode(buf, len);

	ck_assert_msg(!got, "decoded as %s", got);
	ck_assert_msg(strstr(err, why), "\"%s\" lacks \"%s\"", err, why);
}

START_TEST(timestamp_is_rfc3339_in_utc)
{
	setup();
	/* 63108020 s, 21,000,000 ns: field 1 { 1: 63108020, 2: 21000000 } */
	round_trip("{\"ts\":\"1972-01-01T10:00:20.021Z\"}", "0a0a08b4e78b1e10c0de810a",
		   "{\"ts\":\"1972-01-01T10:00:20.021Z\"}");
	round_trip("{\"ts\":\"1972-01-01T12:00:20.021+02:00\"}", "0a0a08b4e78b1e10c0de810a",
		   "{\"ts\":\"1972-01-01T10:00:20.021Z\"}");
	round_trip("{\"ts\":\"1969-12-31T23:59:59.5Z\"}", NULL,
		   "{\"ts\":\"1969-12-31T23:59:59.500Z\"}");
	round_trip("{\"ts\":\"2000-02-29T00:00:00.000001Z\"}", NULL,
		   "{\"ts\":\"2000-02-29T00:00:00.000001Z\"}");
	round_trip("{\"ts\":\"0001-01-01T00:00:00.000000001Z\"}", NULL,
		   "{\"ts\":\"0001-01-01T00:00:00.000000001Z\"}");
	round_trip("{\"ts\":\"9999-12-31T23:59:59Z\"}", NULL, "{\"ts\":\"9999-12-31T23:59:59Z\"}");
	round_trip("{\"ts\":\"1970-01-01T00:00:00Z\"}", "0a00", "{\"ts\":\"1970-01-01T00:00:00Z\"}");
	round_trip("{\"rTs\":[\"2024-05-06T07:08:09Z\",\"1970-01-01T00:00:01Z\"]}", NULL,
		   "{\"rTs\":[\"2024-05-06T07:08:09Z\",\"1970-01-01T00:00:01Z\"]}");
	refused("{\"ts\":\"2023-02-29T00:00:00Z\"}", "field ts: expected an RFC 3339 time");
	refused("{\"ts\":\"1972-01-01 10:00:20Z\"}", "RFC 3339");
	refused("{\"ts\":\"1972-01-01T10:00:20\"}", "RFC 3339");
	refused("{\"ts\":\"1972-01-01T10:00:20.0000000001Z\"}", "RFC 3339");
	refused("{\"ts\":\"0000-12-31T23:59:59Z\"}", "RFC 3339");
	refused("{\"ts\":\"0001-01-01T00:00:00+00:01\"}", "RFC 3339");
	refused("{\"ts\":1234}", "RFC 3339");
	/* nanos of 10^9, from a peer */
	bytes_refused((const uint8_t *)"\x0a\x06\x10\x80\x94\xeb\xdc\x03", 8, "out of range");
}
END_TEST

START_TEST(duration_is_seconds_with_an_s)
{
	setup();
	round_trip("{\"dur\":\"1.5s\"}", "120808011080cab5ee01", "{\"dur\":\"1.500s\"}");
	round_trip("{\"dur\":\"-1.5s\"}", NULL, "{\"dur\":\"-1.500s\"}");
	round_trip("{\"dur\":\"-0.000001s\"}", NULL, "{\"dur\":\"-0.000001s\"}");
	round_trip("{\"dur\":\"0s\"}", "1200", "{\"dur\":\"0s\"}");
	round_trip("{\"dur\":\"315576000000.999999999s\"}", NULL,
		   "{\"dur\":\"315576000000.999999999s\"}");
	round_trip("{\"mDur\":{\"a\":\"3s\",\"b\":\"0s\"}}", NULL,
		   "{\"mDur\":{\"a\":\"3s\",\"b\":\"0s\"}}");
	refused("{\"dur\":\"315576000001s\"}", "field dur: expected a duration");
	refused("{\"dur\":\"1.5\"}", "duration");
	refused("{\"dur\":\"1.s\"}", "duration");
	refused("{\"dur\":\"+1s\"}", "duration");
	refused("{\"dur\":1.5}", "duration");
	/* seconds 1, nanos -1: signs that differ, from a peer */
	bytes_refused((const uint8_t *)"\x12\x0d\x08\x01\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
		      15, "out of range");
}
END_TEST

START_TEST(field_mask_is_camel_case_paths)
{
	static const uint8_t bad_path[] = { 0x1a, 0x05, 0x0a, 0x03, 'a', '_', '1' };

	setup();
	/* paths "user.display_name", "photo" */
	round_trip("{\"mask\":\"user.displayName,photo\"}",
		   "1a1a0a11757365722e646973706c61795f6e616d650a0570686f746f",
		   "{\"mask\":\"user.displayName,photo\"}");
	round_trip("{\"mask\":\"\"}", "1a00", "{\"mask\":\"\"}");
	refused("{\"mask\":\"display_name\"}", "not lowerCamelCase");
	refused("{\"mask\":\"a,,b\"}", "empty path");
	refused("{\"mask\":[\"a\"]}", "must be a string");
	bytes_refused(bad_path, sizeof(bad_path), "no lowerCamelCase form");
}
END_TEST

START_TEST(struct_value_and_list_are_any_json)
{
	setup();
	round_trip("{\"st\":{\"a\":1,\"b\":[true,null,\"x\",{\"c\":{}}]},\"val\":\"s\","
		   "\"list\":[1.5,\"2\",[]]}",
		   NULL,
		   "{\"list\":[1.5,\"2\",[]],\"st\":{\"a\":1.0,\"b\":[true,null,\"x\",{\"c\":{}}]},"
		   "\"val\":\"s\"}");
	/* A null Value is a value: field 5 { null_value (1): 0 }. */
	round_trip("{\"val\":null}", "2a020800", "{\"val\":null}");
	round_trip("{\"rVal\":[null,false],\"mVal\":{\"k\":null,\"n\":{\"x\":2}}}", NULL,
		   "{\"mVal\":{\"k\":null,\"n\":{\"x\":2.0}},\"rVal\":[null,false]}");
	round_trip("{\"st\":{}}", "2200", "{\"st\":{}}");
	refused("{\"st\":[1]}", "field st: google.protobuf.Struct must be an object");
	refused("{\"list\":{}}", "ListValue must be an array");
}
END_TEST

/* Prefixes the \p n bytes at \p buf with a tag byte and their length. */
static size_t wrap(uint8_t *buf, size_t n, uint8_t tag)
{
	uint8_t hdr[12];
	size_t k = 0, v = n;

	hdr[k++] = tag;
	do {
		hdr[k] = (uint8_t)(v & 0x7f);
		v >>= 7;
		hdr[k++] |= v ? 0x80 : 0;
	} while (v);
	memmove(buf + k, buf, n);
	memcpy(buf, hdr, k);
	return n + k;
}

START_TEST(struct_nesting_is_bounded)
{
	char deep[400];
	uint8_t bytes[600];
	size_t n;

	setup();
	n = (size_t)sprintf(deep, "{\"val\":");
	for (int i = 0; i < 80; i++)
		deep[n++] = '[';
	for (int i = 0; i < 80; i++)
		deep[n++] = ']';
	strcpy(deep + n, "}");
	refused(deep, "deeper than");
	/* The same from a peer: Value { list_value (6) { values (1) { ... } } }
	 * 40 times, in field 5. */
	n = 0;
	for (int i = 0; i < 40; i++) {
		n = wrap(bytes, n, 0x0a);
		n = wrap(bytes, n, 0x32);
	}
	n = wrap(bytes, n, 0x2a);
	bytes_refused(bytes, n, "deeper than");
}
END_TEST

START_TEST(any_names_its_type)
{
	setup();
	round_trip("{\"any\":{\"@type\":\"type.googleapis.com/gwtest.Point\",\"x\":3,"
		   "\"label\":\"p\"}}",
		   NULL,
		   "{\"any\":{\"@type\":\"type.googleapis.com/gwtest.Point\",\"label\":\"p\","
		   "\"x\":3}}");
	round_trip("{\"any\":{\"@type\":\"type.googleapis.com/google.protobuf.Duration\","
		   "\"value\":\"2s\"}}",
		   NULL,
		   "{\"any\":{\"@type\":\"type.googleapis.com/google.protobuf.Duration\","
		   "\"value\":\"2s\"}}");
	round_trip("{\"rAny\":[{\"@type\":\"x/google.protobuf.Struct\",\"value\":{\"k\":\"v\"}},"
		   "{\"@type\":\"x/google.protobuf.Any\",\"value\":{\"@type\":\"x/gwtest.Point\"}},"
		   "{}]}",
		   NULL,
		   "{\"rAny\":[{\"@type\":\"x/google.protobuf.Struct\",\"value\":{\"k\":\"v\"}},"
		   "{\"@type\":\"x/google.protobuf.Any\",\"value\":{\"@type\":\"x/gwtest.Point\"}},"
		   "{}]}");
	refused("{\"any\":{\"@type\":\"type.googleapis.com/no.Such\"}}",
		"Any packs no.Such, a type not known here");
	refused("{\"any\":{\"x\":3}}", "needs \"@type\"");
	refused("{\"any\":{\"@type\":\"gwtest.Point\"}}", "type URL");
	refused("{\"any\":{\"@type\":\"x/google.protobuf.Duration\",\"value\":\"1s\",\"y\":1}}",
		"\"@type\" and \"value\" only");
	refused("{\"any\":{\"@type\":\"x/gwtest.Point\",\"nope\":1}}", "no field \"nope\"");
}
END_TEST

START_TEST(wrappers_are_their_value)
{
	setup();
	round_trip("{\"wDouble\":1.5,\"wFloat\":\"-Infinity\",\"wInt64\":\"-5\","
		   "\"wUint64\":\"18446744073709551615\",\"wInt32\":-7,\"wUint32\":4294967295,"
		   "\"wBool\":true,\"wString\":\"s\",\"wBytes\":\"AP8=\"}",
		   NULL,
		   "{\"wBool\":true,\"wBytes\":\"AP8=\",\"wDouble\":1.5,\"wFloat\":\"-Infinity\","
		   "\"wInt32\":-7,\"wInt64\":\"-5\",\"wString\":\"s\","
		   "\"wUint32\":4294967295,\"wUint64\":\"18446744073709551615\"}");
	/* false is present (field 14 holds { 1: 0 }), unlike a bool field. */
	round_trip("{\"wBool\":false}", "72020800", "{\"wBool\":false}");
	/* An empty wrapper from a peer reads as its default. */
	round_trip("{\"wInt64\":\"0\",\"wString\":\"\"}", NULL, "{\"wInt64\":\"0\",\"wString\":\"\"}");
	refused("{\"wInt32\":\"x\"}", "field w_int32:");
	refused("{\"wString\":{}}", "field w_string: expected a string");
}
END_TEST

CHECK_MAIN("pbjson_wkt", 60,
	   timestamp_is_rfc3339_in_utc,
	   duration_is_seconds_with_an_s,
	   field_mask_is_camel_case_paths,
	   struct_value_and_list_are_any_json,
	   struct_nesting_is_bounded,
	   any_names_its_type,
	   wrappers_are_their_value)
