// SPDX-License-Identifier: MIT
/*
 * Forged CALL word, receiver reading one page of a tmpfs file that another
 * thread reads too: both lock the folio, and the folio lock's wakeup hands
 * the lock to the sleeper (wake_page_function) before waking it.
 */
// ktest: timeout=120
#include "rpal_forged.h"

static int file;

static void setup(void)
{
	char buf[4096] = { 1 };

	file = open("/tmp/rpal_forged_folio", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(file >= 0);
	CHECK(write(file, buf, sizeof(buf)) == sizeof(buf));
	unlink("/tmp/rpal_forged_folio");
}

static void *contend(void *arg)
{
	char c;

	(void)arg;
	for (;;)
		CHECK(pread(file, &c, 1, 0) == 1);
	return NULL;
}

static void op(void)
{
	char c;

	CHECK(pread(file, &c, 1, 0) == 1);
}

int main(void)
{
	static const struct forged_ops ops = { setup, contend, 2, op };

	return forged_run(&ops);
}
