/* SPDX-License-Identifier: MIT */
/*
 * protoc-gen-lazyrpc run the way users run it (through protoc) on protos it
 * must refuse: it has to fail, and protoc's stderr has to name the file,
 * the service and the method (one test per refusal). Only our plugin runs:
 * the refused protos are exactly those protoc-c would turn into C that
 * does not compile.
 *
 * Usage: test_rpcgen_errors PROTOC PLUGIN PROTO_DIR (passed by meson).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *protoc, *plugin, *proto_dir;

struct run {
	int status; /* from waitpid */
	char err[8192];
};

/*
 * Run protoc on \p proto with only our plugin, output into a fresh
 * directory (returned in \p outdir), stderr captured. The pipe is read to
 * EOF before waiting, so nothing needs a sleep or a timeout of its own.
 */
static void run_protoc(const char *proto, struct run *r, char *outdir, size_t outlen)
{
	char plugin_arg[4096], out_arg[4200], path_arg[4096];
	posix_spawn_file_actions_t fa;
	int pfd[2];
	pid_t pid;
	size_t n = 0;

	snprintf(outdir, outlen, "%s/rpcgen-errors-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(outdir));
	snprintf(plugin_arg, sizeof(plugin_arg), "--plugin=protoc-gen-lazyrpc=%s", plugin);
	snprintf(out_arg, sizeof(out_arg), "--lazyrpc_out=%s", outdir);
	snprintf(path_arg, sizeof(path_arg), "--proto_path=%s", proto_dir);
	char *argv[] = { (char *)protoc, plugin_arg, out_arg, path_arg, (char *)proto, NULL };

	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
	ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO), 0);
	ck_assert_int_eq(posix_spawn(&pid, protoc, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	for (;;) {
		ssize_t got = read(pfd[0], r->err + n, sizeof(r->err) - 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(got, 0);
		if (got == 0 || n + (size_t)got == sizeof(r->err) - 1) {
			n += (size_t)got;
			break;
		}
		n += (size_t)got;
	}
	r->err[n] = '\0';
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &r->status, 0), pid);
}

static void remove_tree(const char *dir)
{
	char cmd[4200];

	/* Only directories made by mkdtemp() above reach here. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* protoc must fail and its stderr must hold every one of \p needles. */
static void expect_failure(const char *proto, const char *const *needles)
{
	struct run r;
	char outdir[4096];

	run_protoc(proto, &r, outdir, sizeof(outdir));
	fprintf(stderr, "protoc %s said: %s", proto, r.err);
	ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0,
		      "protoc succeeded on %s", proto);
	for (; *needles; needles++)
		ck_assert_msg(strstr(r.err, *needles), "stderr lacks '%s': %s", *needles, r.err);
	remove_tree(outdir);
}

/* protoc-c's stub for a method Init is pbc__svc__init, its initialiser's name. */
START_TEST(init_clash_refused)
{
	static const char *const needles[] = {
		"invalid/init_clash.proto", "service pbc.Svc", "method Init", "pbc__svc__init",
		"rename", NULL
	};

	expect_failure("invalid/init_clash.proto", needles);
}
END_TEST

START_TEST(descriptor_clash_refused)
{
	static const char *const needles[] = {
		"invalid/descriptor_clash.proto", "service pbc.Svc", "method Descriptor",
		"pbc__svc__descriptor", NULL
	};

	expect_failure("invalid/descriptor_clash.proto", needles);
}
END_TEST

START_TEST(keyword_method_refused)
{
	static const char *const needles[] = {
		"invalid/keyword_method.proto", "service Static", "method Return",
		"'return', a C keyword", "rename the method", NULL
	};

	expect_failure("invalid/keyword_method.proto", needles);
}
END_TEST

/* dup_b.proto imports dup_a.proto; their services' C names are the same. */
START_TEST(cross_file_clash_refused)
{
	static const char *const needles[] = {
		"invalid/dup_b.proto", "dup.UserDb", "dup.UserDB (in invalid/dup_a.proto)",
		"generated twice", NULL
	};

	expect_failure("invalid/dup_b.proto", needles);
}
END_TEST

START_TEST(method_id_collision_refused)
{
	static const char *const needles[] = {
		"invalid/id_clash.proto", "clash.Twins", "M299697", "M1047860",
		"0x1d8287f0", NULL
	};

	expect_failure("invalid/id_clash.proto", needles);
}
END_TEST

START_TEST(name_collision_refused)
{
	static const char *const needles[] = {
		"invalid/register_clash.proto", "reg__svc__service_desc", "method ServiceDesc",
		"service reg.Svc", NULL
	};

	expect_failure("invalid/register_clash.proto", needles);
}
END_TEST

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PROTOC PLUGIN PROTO_DIR\n", argv[0]);
		return 2;
	}
	protoc = argv[1];
	plugin = argv[2];
	proto_dir = argv[3];
	if (access(protoc, X_OK) != 0 || access(plugin, X_OK) != 0) {
		fprintf(stderr, "SKIP: %s or %s is not executable\n", protoc, plugin);
		return 77;
	}

	Suite *s = suite_create("rpcgen errors");
	TCase *tc = tcase_create("protoc");
	tcase_add_test(tc, method_id_collision_refused);
	tcase_add_test(tc, name_collision_refused);
	tcase_add_test(tc, init_clash_refused);
	tcase_add_test(tc, descriptor_clash_refused);
	tcase_add_test(tc, keyword_method_refused);
	tcase_add_test(tc, cross_file_clash_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
