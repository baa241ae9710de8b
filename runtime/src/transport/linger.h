/* SPDX-License-Identifier: MIT */
/*
 * A lingering close for the server's connections (unix://, tcp://,
 * grpc://, grpcs://), on the host's libuv loop (linger.c).
 *
 * Closing a socket whose receive queue holds bytes nobody read makes the
 * kernel answer with a reset instead of a FIN, and bytes the client sends
 * once the socket is closed draw a reset too; a client's kernel that gets
 * the reset may drop what it had not yet handed to its reader: the last
 * reply, a stream's END, a health Watch's NOT_SERVING. So the connection
 * first sends what is queued and then its FIN (shutdown(SHUT_WR)), reads
 * and throws away what the client still sends, and closes at the client's
 * EOF, or after LRPC__LINGER_BYTES thrown away or LRPC__LINGER_MS since the
 * linger began, whichever comes first: a client that keeps sending, or
 * never hangs up, holds the connection (and a stopping server's loop) no
 * longer than that.
 */
#ifndef LRPC_LINGER_H
#define LRPC_LINGER_H

#include <uv.h>

#define LRPC__LINGER_MS 1000u
#define LRPC__LINGER_BYTES 65536u

/*
 * Close @stream as uv_close(@stream, @cb) would, lingering first. Loop
 * thread only; never blocks. From here on the stream's reads are the
 * linger's (the owner's read callback never runs again); writes already
 * queued complete first, their callbacks running as usual; the owner
 * starts no new ones. @cb runs exactly once, with handle->data the
 * owner's again, also when no linger is possible (no connection, no
 * memory): then as after a plain uv_close().
 */
void lrpc__linger_close(uv_stream_t *stream, uv_close_cb cb);

#endif
