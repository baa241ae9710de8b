// SPDX-License-Identifier: MIT
/*
 * A stream written by a hostile lrpc:// client: each input opens an Echo
 * stream (lrpctest.Streams) on lane 0 of a real server's region and then
 * runs its ops against the lane's rings and control block. An op is a byte
 * (its low 4 bits) and its arguments:
 *   0 N BYTES      an honest record of N bytes, if the ring has room
 *   1 U64          c2s_tail := U64 (a lie)
 *   2 U16 N BYTES  N raw bytes into the ring at offset U16 (a lie)
 *   3 U64          s2c_head := U64 (a lie)
 *   4              half-close
 *   5              cancel
 *   6 U32          srv_bell := U32 (a lie)
 *   7              read what the server wrote (honestly)
 *   8 U16 N BYTES  first op only: open the stream with metadata (since
 *                  0.6.0), N bytes of request block, md_len := U16 (a lie
 *                  unless N); the Echo handler sends x-trace back as a
 *                  header and x-blob-bin as a trailer, in the server's
 *                  metadata record; later, nothing
 *   9 U16 BYTES    U16 bytes (at most what is left) as a hostile server's
 *                  metadata record, through the client's parser
 *   10..15         nothing
 * each followed by a ring of the server's bell. Then it half-closes and
 * reads until the server ends the stream. Invariants:
 *  - the server ends every stream, by its 1 s deadline or soon after, with
 *    a status code below LRPC_CODE_COUNT;
 *  - a stream of honest ops never ends with INTERNAL (a protocol error),
 *    and one that ends so is counted in the server's protocol_errors;
 *  - the next stream opens on the same lane (it was handed back), and the
 *    server answers an Echo call on a channel of its own;
 *  - an open with metadata is answered as read (the version's mark),
 *    either opened or refused as INVALID_ARGUMENT and counted as a
 *    protocol error;
 *  - the client's parser of metadata records returns 0, -EPROTO or
 *    -ENOMEM, keeps at most what a record of that size holds (6 bytes an
 *    entry at least) and, under ASan, leaks nothing.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "../integration/streams.h"

static struct fz_lane *lane;
static lrpc_channel *probe_ch;
static lrpc_server *server;
static struct fz_stream fs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char name[64], dir[200], uri[128], ctl[300];

	(void)argc, (void)argv;
	signal(SIGPIPE, SIG_IGN);
	fz_server_register = lrpctest_streams_register;
	snprintf(name, sizeof(name), "fuzz-lane-stream-%d", (int)getpid());
	snprintf(uri, sizeof(uri), "lrpc://%s", name);
	/* Small rings, so that inputs fill and wrap them. */
	server = fz_server(uri, false, 4096, 2);
	if (lrpc_runtime_dir(dir, sizeof(dir)) < 0)
		fz_die("no runtime directory");
	snprintf(ctl, sizeof(ctl), "%s/%s", dir, name);
	lane = fz_lane_connect(ctl);
	fz_lane_stream(lane, &fs);
	probe_ch = fz_channel(uri);
	return 0;
}

/* Our side's indices, as an honest client keeps them. */
static uint64_t tail, head;

static void put_record(const uint8_t *bytes, uint32_t n)
{
	uint64_t size = fs.ring_size, rec = fz_ring_rec(n);
	uint64_t used = tail - atomic_load(fs.c2s_head), off, at;
	uint32_t hdr[2] = { n, 0 };

	if (used > size || size - used < rec)
		return;
	off = tail % size;
	at = (off + 8) % size;
	for (uint32_t i = 0; i < n; i++)
		fs.c2s[(at + i) % size] = bytes[i];
	memcpy(fs.c2s + off, hdr, sizeof(hdr));
	tail += rec;
	atomic_store(fs.c2s_tail, tail);
}

/* Consume what the server wrote, trusting it as far as the bounds. */
static void drain(void)
{
	uint64_t t = atomic_load(fs.s2c_tail);

	if (t - head <= fs.ring_size)
		head = t;
	atomic_store(fs.s2c_head, head);
}

/* Op 9: a metadata record from a hostile server, at the client. */
static void parse_record(const uint8_t **data, size_t *size)
{
	uint16_t n16;
	size_t n, entries;
	int ret;

	if (!fz_take(data, size, &n16, 2))
		return;
	n = n16 < *size ? n16 : *size;
	ret = fz_md_rec_parse(*data, n, &entries);
	if (ret != 0 && ret != -EPROTO && ret != -ENOMEM)
		fz_die("metadata record parser returned %d", ret);
	if (entries > n / 6)
		fz_die("%zu entries from a %zu-byte record", entries, n);
	*data += n, *size -= n;
}

/* Op 8 first: open with metadata. \return false if the server refused
 * (rightly: checked here), and the input is done. */
static bool open_stream(uint64_t seq, lrpc_deadline deadline, const uint8_t **data,
			size_t *size)
{
	lrpc_server_stats before, after;
	uint16_t md_len;
	uint8_t n8 = 0;
	bool acked = false, md = false;
	uint32_t code;
	int ret;

	lrpc_server_stats_get(server, &before);
	if (*size && (**data & 15) == 8) {
		(*data)++, (*size)--;
		md = fz_take(data, size, &md_len, 2) && fz_take(data, size, &n8, 1) &&
		     *size >= n8;
		if (!md)
			return false;
	}
	ret = md ? fz_lane_stream_open_md(lane, seq, lrpctest_streams_echo->id, deadline,
					  lrpc_deadline_after_ms(FZ_HANG_MS), *data, n8,
					  md_len, &code, &acked) :
		   fz_lane_stream_open(lane, seq, lrpctest_streams_echo->id, deadline,
				       lrpc_deadline_after_ms(FZ_HANG_MS), &code);
	if (ret)
		fz_die("stream open: %s", strerror(-ret));
	if (md) {
		*data += n8, *size -= n8;
		if (!acked)
			fz_die("an open with metadata was not answered as read");
	}
	if (code == LRPC_OK)
		return true;
	lrpc_server_stats_get(server, &after);
	if (!md || code != LRPC_INVALID_ARGUMENT)
		fz_die("stream open: code %u", code);
	if (after.protocol_errors == before.protocol_errors)
		fz_die("refused request metadata was not counted as a protocol error");
	fz_probe(probe_ch, "lane stream metadata");
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t seq;
	lrpc_deadline deadline = lrpc_deadline_after_ms(1000), until;
	lrpc_server_stats before, after;
	bool lied = false;
	uint32_t code;

	tail = head = 0;
	lrpc_server_stats_get(server, &before);
	if (!open_stream(++seq, deadline, &data, &size))
		return 0;
	while (size) {
		uint8_t op = data[0] & 15, n8;
		uint64_t v64;
		uint32_t v32;
		uint16_t v16;

		data++, size--;
		switch (op) {
		case 0:
			if (!fz_take(&data, &size, &n8, 1) || size < n8)
				break;
			put_record(data, n8);
			data += n8, size -= n8;
			break;
		case 1:
		case 3:
			if (!fz_take(&data, &size, &v64, 8))
				break;
			atomic_store(op == 1 ? fs.c2s_tail : fs.s2c_head, v64);
			lied = true;
			break;
		case 2:
			if (!fz_take(&data, &size, &v16, 2) ||
			    !fz_take(&data, &size, &n8, 1) || size < n8)
				break;
			for (uint32_t i = 0; i < n8; i++)
				fs.c2s[(v16 + i) % fs.ring_size] = data[i];
			data += n8, size -= n8;
			lied = true;
			break;
		case 4:
			atomic_fetch_or(fs.cli_flags, fs.half_closed);
			break;
		case 5:
			atomic_store(fs.cancel, 1);
			break;
		case 6:
			if (!fz_take(&data, &size, &v32, 4))
				break;
			atomic_store(fs.srv_bell, v32);
			lied = true;
			break;
		case 7:
			drain();
			break;
		case 9:
			parse_record(&data, &size);
			break;
		}
		fz_wake(fs.srv_bell);
	}
	atomic_fetch_or(fs.cli_flags, fs.half_closed);
	fz_wake(fs.srv_bell);
	until = deadline + (lrpc_deadline)FZ_HANG_MS * 1000000;
	while (atomic_load(fs.end_seq) != seq) {
		uint32_t seen = atomic_load(fs.cli_bell);

		if (lrpc_now() >= until)
			fz_die("the server did not end the stream");
		drain();
		fz_wake(fs.srv_bell);
		if (atomic_load(fs.end_seq) != seq)
			fz_doze(fs.cli_bell, fs.cli_sleepers, seen, 10);
	}
	code = *(volatile uint32_t *)fs.end_code;
	if (code >= LRPC_CODE_COUNT)
		fz_die("stream ended with code %u", code);
	if (!lied && code == LRPC_INTERNAL)
		fz_die("an honest stream ended as a protocol error");
	lrpc_server_stats_get(server, &after);
	if (code == LRPC_INTERNAL &&
	    after.protocol_errors == before.protocol_errors)
		fz_die("a broken stream was not counted as a protocol error");
	fz_probe(probe_ch, "lane stream");
	return 0;
}
