// SPDX-License-Identifier: MIT
/* Growing a heap buffer by doubling. */
#include <errno.h>
#include <stdlib.h>

#include "core/internal.h"

int lrpc__buf_reserve(unsigned char **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 4096;
	unsigned char *p;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}
