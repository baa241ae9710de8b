// SPDX-License-Identifier: MIT
/*
 * replay DIR|FILE...: run a harness's LLVMFuzzerTestOneInput() once on each
 * file, in name order, for builds without libFuzzer (gcc, the plain and
 * ASan suites). It fails when there is nothing to replay, so that a
 * misplaced corpus cannot pass.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static long replayed;

static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0, k;

	if (!f) {
		perror(path);
		exit(1);
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				exit(1);
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
	} while (k);
	fclose(f);
	/* A copy of exactly n bytes, so that ASan sees a read past the end. */
	unsigned char *in = malloc(n ? n : 1);

	if (!in)
		exit(1);
	memcpy(in, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(in, n);
	free(in);
	replayed++;
}

static int not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct dirent **ents;
		struct stat st;
		int n;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			replay_file(argv[i]);
			continue;
		}
		n = scandir(argv[i], &ents, not_hidden, alphasort);
		if (n < 0) {
			perror(argv[i]);
			return 1;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 ents[k]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
				replay_file(path);
			free(ents[k]);
		}
		free(ents);
	}
	printf("replayed %ld inputs\n", replayed);
	return replayed ? 0 : 1;
}
