/* SPDX-License-Identifier: MIT */
/*
 * protobuf-c's file option (pb_c_file).c_package, field 1019 of
 * google.protobuf.FileOptions, renames every C identifier of a file. Our
 * stubs must use the same names as protoc-c's output, so we read it too.
 * protobuf-c has no extension support: the option arrives as an unknown
 * field of FileOptions holding an encoded ProtobufCFileOptions, whose
 * field 6 (c_package, a string) is all we need. A malformed option is
 * ignored here: protoc has already validated the file. protobuf-c keeps
 * a length-delimited unknown field with its length prefix in data.
 */
#include <string.h>

#include "rpcgen.h"

#define PB_C_FILE_FIELD 1019u
#define C_PACKAGE_FIELD 6u

/* \return bytes consumed, or 0 on a truncated or over-long varint. */
static size_t read_varint(const uint8_t *p, size_t len, uint64_t *v)
{
	uint64_t r = 0;

	for (size_t i = 0; i < len && i < 10; i++) {
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

/* Walk one encoded ProtobufCFileOptions; the last c_package wins, as in protobuf. */
static const char *find_c_package(const uint8_t *p, size_t len, const char *found)
{
	while (len) {
		uint64_t key, n;
		size_t k = read_varint(p, len, &key);

		if (!k)
			return found;
		p += k;
		len -= k;
		switch (key & 7) {
		case 0: /* varint */
			k = read_varint(p, len, &n);
			if (!k)
				return found;
			break;
		case 1: /* fixed64 */
			k = 8;
			break;
		case 5: /* fixed32 */
			k = 4;
			break;
		case 2: /* length-delimited */
			k = read_varint(p, len, &n);
			if (!k || n > len - k)
				return found;
			if ((key >> 3) == C_PACKAGE_FIELD)
				found = rpcgen_strndup((const char *)p + k, (size_t)n);
			k += (size_t)n;
			break;
		default:
			return found;
		}
		if (k > len)
			return found;
		p += k;
		len -= k;
	}
	return found;
}

const char *options_c_package(const pb_file *file)
{
	const ProtobufCMessage *opts = (const ProtobufCMessage *)file->options;
	const char *found = NULL;

	if (!opts)
		return NULL;
	for (unsigned i = 0; i < opts->n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *uf = &opts->unknown_fields[i];

		uint64_t n;
		size_t k;

		if (uf->tag != PB_C_FILE_FIELD ||
		    uf->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
			continue;
		k = read_varint(uf->data, uf->len, &n);
		if (k && n == uf->len - k)
			found = find_c_package(uf->data + k, (size_t)n, found);
	}
	return found;
}
