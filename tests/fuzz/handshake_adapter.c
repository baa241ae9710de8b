// SPDX-License-Identifier: MIT
/* The lrpc:// handshake layout for the handshake fuzzer (fuzz.h). */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "handoff/handoff.h"
#include "wire/handshake.h"

const size_t fz_hello_size = sizeof(struct lrpc__hello);
const size_t fz_welcome_size = sizeof(struct lrpc__welcome);
const size_t fz_refusal_max = LRPC__REFUSAL_MAX;

void fz_hello_put(unsigned char *out, const char *handoff)
{
	struct lrpc__hello h = {
		.magic = LRPC__HELLO_MAGIC,
		.version = LRPC__CTL_VERSION,
	};

	strncpy(h.handoff, handoff, sizeof(h.handoff) - 1);
	memcpy(out, &h, sizeof(h));
}

int fz_hello_expect(const unsigned char *hello)
{
	struct lrpc__hello h;

	memcpy(&h, hello, sizeof(h));
	if (h.magic != LRPC__HELLO_MAGIC || h.version != LRPC__CTL_VERSION)
		return EPROTO;
	h.handoff[sizeof(h.handoff) - 1] = '\0';
	/* The harness talks futex only; a kernel hand-off needs the kernel's
	 * grant, which raw bytes cannot fake. */
	if (!h.handoff[0] || lrpc__handoff_find(h.handoff) == &lrpc__handoff_futex)
		return 0;
	if (lrpc__handoff_find(h.handoff))
		return -1;
	return EPROTONOSUPPORT;
}

int fz_welcome_get(const unsigned char *w, uint32_t *nlanes,
		   uint64_t *region_size)
{
	struct lrpc__welcome wm;

	memcpy(&wm, w, sizeof(wm));
	if (wm.magic != LRPC__WELCOME_MAGIC || wm.version != LRPC__CTL_VERSION)
		return -1;
	*nlanes = wm.nlanes;
	*region_size = wm.region_size;
	return wm.status;
}
