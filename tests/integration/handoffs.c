// SPDX-License-Identifier: MIT
/*
 * Print the runtime's hand-offs, best first, one line each: the name and
 * whether this machine offers it: "yes", "no", or "slot" for a hand-off
 * offered only to processes started in an RPAL slot (probe_in_slot), this
 * one or not. The harness reruns every lrpc:// test once per hand-off from
 * this list (harness.c, h_run), so the tests never carry a list of their
 * own.
 */
#include <stdio.h>

#include "handoff/handoff.h"

int main(void)
{
	const struct lrpc__handoff *h;

	for (unsigned int i = 0; (h = lrpc__handoff_at(i)); i++)
		printf("%s %s\n", h->name,
		       h->probe_in_slot ? (h->probe_in_slot() ? "slot" : "no") :
		       lrpc__handoff_available(h) ? "yes" : "no");
	return 0;
}
