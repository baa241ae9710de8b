// SPDX-License-Identifier: MIT
/*
 * Forged CALL word, receiver writing a tmpfs file that another thread
 * writes too: both take the inode lock (i_rwsem, down_write), and the
 * receiver sleeps on it uninterruptibly.
 */
// ktest: timeout=120
#include "rpal_forged.h"

static int file;

static void setup(void)
{
	file = open("/tmp/rpal_forged_inode", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(file >= 0);
	unlink("/tmp/rpal_forged_inode");
}

static void *contend(void *arg)
{
	static char buf[65536];

	(void)arg;
	for (;;)
		CHECK(pwrite(file, buf, sizeof(buf), 0) == sizeof(buf));
	return NULL;
}

static void op(void)
{
	CHECK(pwrite(file, "x", 1, 0) == 1);
}

int main(void)
{
	static const struct forged_ops ops = { setup, contend, 1, op };

	return forged_run(&ops);
}
