/* SPDX-License-Identifier: MIT */
/*
 * Bells: futex eventcounts in a lane, for what passes between a stream's
 * two sides after its open (bell.c). Every hand-off uses them: a stream
 * moves many messages per hand-off, so its sides run at once and wake each
 * other only when one sleeps, rather than switching CPU per message.
 *
 * A waiter arms (announces itself in the sleeper count, then reads the
 * bell), looks at what it waits for, and sleeps only if the bell still
 * reads what it read. A producer publishes (sequentially consistent), then
 * rings, which bumps the bell and wakes only when the count is nonzero:
 * either the waiter's look sees the publication or the ring sees the
 * waiter. A kick (stop, cancel, death: rare) bumps and wakes always, after
 * its flag is stored, so a waiter that armed before the flag sees the bump.
 *
 * The peer can write the bell and the count too: that costs its own
 * stream spurious wakeups, or a sleep until the slice ends; waiters sleep
 * in slices (LRPC__BELL_SLICE_NS) and look again, so nothing hangs.
 */
#ifndef LRPC_BELL_H
#define LRPC_BELL_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/internal.h"

#define LRPC__BELL_SLICE_NS 1000000000

void lrpc__bell_ring(_Atomic uint32_t *bell, const _Atomic uint32_t *sleepers);
void lrpc__bell_kick(_Atomic uint32_t *bell);

/*
 * The one waiting loop of a stream's side: call look() until it returns
 * a result (>= 0), spinning briefly (not on one CPU) and then sleeping on
 * \p bell; between looks, check() may return a result too (a stop, a
 * cancel, the deadline). Both return -1 for "nothing yet". \p until
 * bounds each sleep; check() is what ends the wait at a deadline.
 */
int lrpc__bell_wait(_Atomic uint32_t *bell, _Atomic uint32_t *sleepers,
		    int (*look)(void *ctx), int (*check)(void *ctx), void *ctx,
		    lrpc_deadline until);

#endif
