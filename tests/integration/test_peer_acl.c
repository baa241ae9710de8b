// SPDX-License-Identifier: MIT
/*
 * Services of different uids calling each other: the server's peer ACL
 * (lrpc_server_set_peer_acl) admits the uids and groups it lists and no
 * one else, the client maps a region only from a server it trusts
 * (lrpc_channel_opts.trust), and a directory shared by a group works as
 * the runtime directory of both. The server and every client run as uids
 * of their own (40001...), never root, so that root's exemptions hide
 * nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"

#define SERVER_UID 40001
#define CLIENT_UID 40002
#define STRANGER_UID 40003
#define MESH_GID 40100

/* What a client child found, as its exit status. */
enum outcome {
	CALLED = 0,      /* open and echo worked, over the expected hand-off */
	OPEN_REFUSED,    /* lrpc_channel_open: -EACCES */
	CALL_REFUSED,    /* the call: PERMISSION_DENIED */
	OTHER = 20,
};

struct client {
	uid_t uid;
	gid_t groups[2];
	int ngroups;
	const lrpc_peer_acl *trust;
	const char *uri;
	const char *must_say; /* in the refusal's words, if refused */
};

static int client_main(const struct client *c)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
	const char *want = getenv("LRPC_EXPECT_HANDOFF");
	lrpc_channel_opts o;
	lrpc_channel *ch;
	lrpc_status st = { 0 }, ost = { 0 };
	lrpc_code code;
	int ret;

	if (h_become(c->uid, c->groups, c->ngroups) < 0)
		return OTHER + 1;
	lrpc_channel_opts_init(&o);
	o.trust = c->trust;
	o.open_status = &ost;
	ret = lrpc_channel_open(c->uri, &o, &ch);
	if (ret == -EACCES) {
		if (c->must_say && !strstr(ost.message, c->must_say)) {
			fprintf(stderr, "refusal said '%s'\n", ost.message);
			return OTHER + 2;
		}
		return OPEN_REFUSED;
	}
	if (ret < 0) {
		fprintf(stderr, "open %s: %s\n", c->uri, strerror(-ret));
		return OTHER + 3;
	}
	if (want && *want && !strncmp(c->uri, "lrpc://", 7) &&
	    strcmp(lrpc_channel_handoff(ch), want) != 0)
		return OTHER + 4;
	req.seq = 7;
	code = lrpctest__probe__echo__call(ch, &req, &rep, lrpc_deadline_after_ms(10000), &st);
	if (code == LRPC_OK) {
		ret = rep->seq == 7 ? CALLED : OTHER + 5;
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	} else if (code == LRPC_PERMISSION_DENIED &&
		   (!c->must_say || strstr(st.message, c->must_say))) {
		ret = CALL_REFUSED;
	} else {
		fprintf(stderr, "call: %s %s\n", lrpc_code_name(code), st.message);
		ret = OTHER + 6;
	}
	lrpc_channel_close(ch);
	return ret;
}

static int run_client(const struct client *c)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(client_main(c));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The probe server as SERVER_UID (in \p ngroups of \p groups), with the
 * peer ACL \p acl (the probe's LRPC_PROBE_ACL syntax), in \p dir. */
static void serve(struct peer *srv, const char *acl, const gid_t *groups,
		  int ngroups)
{
	char *argv[] = { (char *)h_bin("LRPC_PROBE"), "server", "svc", "1", "0", NULL };

	setenv("LRPC_PROBE_ACL", acl, 1);
	h_spawn_creds(srv, argv, SERVER_UID, groups, ngroups);
	unsetenv("LRPC_PROBE_ACL");
	ck_assert_msg(h_expect(srv, "ready", 10000), "probe server did not start");
}

/* A runtime directory of \p uid:\p gid with \p mode. */
static const char *runtime_dir(uid_t uid, gid_t gid, mode_t mode)
{
	const char *dir = h_dir_setup();

	ck_assert_int_eq(chown(dir, uid, gid), 0);
	ck_assert_int_eq(chmod(dir, mode), 0);
	return dir;
}

static const uid_t server_uid[] = { SERVER_UID };
static const lrpc_peer_acl trust_server = { .uids = server_uid, .n_uids = 1 };

/* The server's own directory, open for reading: the listed uid gets in
 * over lrpc:// and unix://, a stranger is told why. */
START_TEST(listed_uid_is_admitted)
{
	const char *dir = runtime_dir(SERVER_UID, SERVER_UID, 0755);
	char unix_uri[300];
	struct peer srv;
	struct stat st;

	serve(&srv, "u40002", NULL, 0);
	snprintf(unix_uri, sizeof(unix_uri), "unix://%s/svc.sock", dir);
	/* The server's check is the gate, so the socket is open to all. */
	ck_assert_int_eq(stat(unix_uri + 7, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0666);
	for (int i = 0; i < 2; i++) {
		const char *uri = i ? unix_uri : "lrpc://svc";
		struct client ok = { .uid = CLIENT_UID, .ngroups = 0,
				     .trust = &trust_server, .uri = uri };
		struct client stranger = ok;

		stranger.uid = STRANGER_UID;
		stranger.must_say = "uid 40003";
		ck_assert_int_eq(run_client(&ok), CALLED);
		/* lrpc:// refuses at the handshake, unix:// at the call. */
		ck_assert_int_eq(run_client(&stranger), i ? CALL_REFUSED : OPEN_REFUSED);
	}
	h_kill(&srv, SIGTERM);
}
END_TEST

/* A client that was not told to trust the server's uid maps nothing from
 * it, and says whom it refused. */
START_TEST(untrusted_server_is_refused)
{
	struct client c = { .uid = CLIENT_UID, .ngroups = 0, .uri = "lrpc://svc",
			    .must_say = "uid 40001" };
	struct peer srv;

	runtime_dir(SERVER_UID, SERVER_UID, 0755);
	serve(&srv, "u40002", NULL, 0);
	ck_assert_int_eq(run_client(&c), OPEN_REFUSED);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* A mesh directory: root's, sticky, writable by one group. A server of
 * that group that admits it serves there; a client of the group that
 * trusts it calls. */
START_TEST(group_shares_a_directory)
{
	static const gid_t mesh[] = { MESH_GID };
	static const lrpc_peer_acl trust_mesh = { .gids = mesh, .n_gids = 1 };
	struct client member = { .uid = CLIENT_UID, .groups = { MESH_GID }, .ngroups = 1,
				 .trust = &trust_mesh, .uri = "lrpc://svc" };
	struct client outsider = { .uid = CLIENT_UID, .ngroups = 0,
				   .trust = &trust_mesh, .uri = "lrpc://svc" };
	struct peer srv;

	runtime_dir(0, MESH_GID, 01770);
	serve(&srv, "g40100", mesh, 1);
	ck_assert_int_eq(run_client(&member), CALLED);
	/* Without the group the directory keeps it out before the server
	 * is even asked. */
	ck_assert_int_eq(run_client(&outsider), OPEN_REFUSED);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* Without an ACL naming its group, a server will not use a directory
 * others can write: it could not tell its names from theirs. */
START_TEST(shared_directory_needs_the_acl)
{
	static const gid_t mesh[] = { MESH_GID };
	char *argv[] = { (char *)h_bin("LRPC_PROBE"), "server", "svc", "1", "0", NULL };
	struct peer srv;
	int status;

	runtime_dir(0, MESH_GID, 01770);
	h_spawn_creds(&srv, argv, SERVER_UID, mesh, 1);
	ck_assert(!h_expect(&srv, "ready", 10000));
	ck_assert_int_eq(waitpid(srv.pid, &status, 0), srv.pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
}
END_TEST

/* Bad lists are refused with EINVAL, late ones with EBUSY. */
START_TEST(bad_lists_are_refused)
{
	uid_t many[LRPC_PEER_ACL_MAX + 1] = { 0 };
	lrpc_peer_acl too_many = { .uids = many, .n_uids = LRPC_PEER_ACL_MAX + 1 };
	lrpc_peer_acl no_array = { .n_gids = 1 };
	lrpc_peer_acl ok = { .uids = many, .n_uids = 1 };
	lrpc_channel_opts o;
	lrpc_channel *ch;
	lrpc_server *s;

	h_dir_setup();
	ck_assert_int_eq(lrpc_server_new(NULL, &s), 0);
	ck_assert_int_eq(lrpc_server_set_peer_acl(s, &too_many), -EINVAL);
	ck_assert_int_eq(lrpc_server_set_peer_acl(s, &no_array), -EINVAL);
	ck_assert_int_eq(lrpc_server_set_peer_acl(NULL, &ok), -EINVAL);
	ck_assert_int_eq(lrpc_server_set_peer_acl(s, &ok), 0);
	ck_assert_int_eq(lrpc_server_set_peer_acl(s, NULL), 0);
	ck_assert_int_eq(lrpc_server_listen(s, "lrpc://acl"), 0);
	ck_assert_int_eq(lrpc_server_set_peer_acl(s, &ok), -EBUSY);
	lrpc_server_free(s);
	lrpc_channel_opts_init(&o);
	o.trust = &too_many;
	ck_assert_int_eq(lrpc_channel_open("lrpc://acl", &o, &ch), -EINVAL);
}
END_TEST

int main(void)
{
	const TTest *const t[] = { listed_uid_is_admitted, untrusted_server_is_refused,
				   group_shares_a_directory, shared_directory_needs_the_acl,
				   bad_lists_are_refused };

	if (geteuid() != 0) {
		printf("SKIP: needs root to act as other uids\n");
		return 77;
	}
	return h_run("peer_acl", t, 5, 60);
}
