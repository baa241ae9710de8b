/* SPDX-License-Identifier: MIT */
/*
 * A call's cancel notification (lrpc_call_on_cancel): the handler's
 * callback, run once by whichever thread learns first that the call was
 * given up on, and never after the handler returned. A transport that can
 * tell owns one per call, fires it right after setting the call's cancel
 * flag, and hands it to the handler through struct lrpc__origin; where no
 * transport thread can tell (lrpc://), there is none.
 */
#ifndef LRPC_CANCEL_NOTE_H
#define LRPC_CANCEL_NOTE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct lrpc__cancel_note {
	const _Atomic int *flag; /* the call's cancel flag, set before firing */
	pthread_mutex_t lock;
	pthread_cond_t idle; /* the callback finished */
	void (*fn)(void *arg);
	void *arg;
	bool registered; /* one callback per call */
	bool fired;   /* the call was cancelled */
	bool running; /* fn runs now, on the firing thread */
	bool closed;  /* the handler returned: fn runs no more */
};

/* For a call whose cancel flag is \p flag (set by the transport before it
 * fires: a handler that sees it and returns first gets its callback run
 * as it returns). */
void lrpc__cancel_note_init(struct lrpc__cancel_note *n, const _Atomic int *flag);
void lrpc__cancel_note_destroy(struct lrpc__cancel_note *n);

/* The call was cancelled (its flag already set): run the callback, if one
 * is registered, unless it ran or the handler returned. Any thread; once
 * per note has an effect, later calls return at once. */
void lrpc__cancel_note_fire(struct lrpc__cancel_note *n);

/* The handler returned: no callback runs from here on, but one owed (the
 * flag is set, the transport has not fired yet) runs now; waits for one
 * that runs on another thread. On the handler's thread. */
void lrpc__cancel_note_close(struct lrpc__cancel_note *n);

/* lrpc_call_on_cancel() on note \p n. */
int lrpc__cancel_note_set(struct lrpc__cancel_note *n, void (*fn)(void *arg),
			  void *arg);

#endif
