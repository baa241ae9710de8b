// SPDX-License-Identifier: MIT
/* grpc-timeout: the deadline a gRPC peer sends as time left. */
#include <errno.h>

#include "wire/grpc.h"

static const struct {
	char unit;
	int64_t ns;
} units[] = {
	{ 'H', 3600000000000ll }, { 'M', 60000000000ll }, { 'S', 1000000000ll },
	{ 'm', 1000000ll },       { 'u', 1000ll },        { 'n', 1ll },
};

int lrpc__grpc_timeout_parse(const char *v, size_t len, int64_t *ns)
{
	int64_t n = 0, scale = 0;

	if (len < 2 || len > 9)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (v[len - 1] == units[i].unit)
			scale = units[i].ns;
	if (!scale)
		return -EINVAL;
	for (size_t i = 0; i + 1 < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		n = n * 10 + (v[i] - '0'); /* at most 99999999: no overflow */
	}
	*ns = n > INT64_MAX / scale ? INT64_MAX : n * scale;
	return 0;
}

size_t lrpc__grpc_timeout_format(int64_t ns, char *out)
{
	/* The finest unit whose value fits in 8 digits, rounded up so the
	 * peer never sees less time than there is. */
	size_t u = sizeof(units) / sizeof(units[0]) - 1;
	int64_t n;
	char digits[8];
	size_t k = 0, len = 0;

	if (ns < 1)
		ns = 1;
	for (;; u--) {
		n = ns / units[u].ns + (ns % units[u].ns != 0);
		if (n <= 99999999 || u == 0)
			break;
	}
	if (n > 99999999)
		n = 99999999;
	do {
		digits[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	while (k)
		out[len++] = digits[--k];
	out[len++] = units[u].unit;
	return len;
}
