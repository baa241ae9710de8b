// SPDX-License-Identifier: MIT
/* The library slot_probe dlopen()s: where it lands is the test. */
int slotlib_answer(void);

int slotlib_answer(void)
{
	return 42;
}
