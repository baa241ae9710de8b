#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gRPC interop over grpc://: Python gRPC (Debian's python3-grpcio, an
implementation nobody here wrote) calls the probe server.

    interop.py PROBE     run every case against `PROBE server ...`

The cases follow grpc/grpc doc/interop-test-descriptions.md where the probe
service can express them (lrpctest.Probe and lrpctest.Streams, messages
hand-encoded below). Exit 0: all passed; 1: a case failed; 77: no grpcio.
"""
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grpc_peer import need_grpc, start_server  # noqa: E402

grpc = need_grpc()

MAX_MSG = 1 << 20
FAILED = []


# protobuf wire format, enough for probe.proto's messages.
def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def echo_msg(payload=b"", seq=0, reply_size=0):
    out = b""
    if payload:
        out += b"\x0a" + varint(len(payload)) + payload
    if seq:
        out += b"\x10" + varint(seq)
    if reply_size:
        out += b"\x18" + varint(reply_size)
    return out


def fields(buf):
    i, out = 0, {}
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = bytes(buf[i:i + n]), i + n
        else:
            raise ValueError("wire type %d" % wt)
        out[num] = v
    return out


def read_varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def echo_of(buf):
    f = fields(buf)
    return f.get(1, b""), f.get(2, 0)


def fail_req(code, message):
    m = message.encode("utf-8")
    return b"\x08" + varint(code) + b"\x12" + varint(len(m)) + m


def slow_req(tag, hold_ms):
    return b"\x08" + varint(tag) + b"\x10" + varint(hold_ms)


ident = (lambda b: b)


def unary(ch, path):
    return ch.unary_unary(path, request_serializer=ident, response_deserializer=ident)


def case(fn):
    def run(*a):
        name = fn.__name__
        try:
            fn(*a)
            print("PASS", name)
        except Exception as e:  # a failed check or an unexpected RpcError
            print("FAIL %s: %r" % (name, e))
            FAILED.append(name)
    run.__name__ = fn.__name__
    return run


def expect_code(e, code):
    assert isinstance(e, grpc.RpcError), e
    assert e.code() == code, "%s: %s" % (e.code(), e.details())


@case
def empty_unary(ch):
    assert unary(ch, "/lrpctest.Probe/Echo")(b"", timeout=10) == b""


@case
def unary_echo(ch):
    rep = unary(ch, "/lrpctest.Probe/Echo")(echo_msg(b"hello", 7), timeout=10)
    assert echo_of(rep) == (b"hello", 7), rep


@case
def large_unary(ch):
    # Near max_msg_size both ways; the prefix and fields leave 64 bytes.
    big = bytes(range(256)) * ((MAX_MSG - 64) // 256)
    rep = unary(ch, "/lrpctest.Probe/Echo")(echo_msg(big, 1), timeout=30)
    assert echo_of(rep) == (big, 1)
    rep = unary(ch, "/lrpctest.Probe/Echo")(echo_msg(b"", 2, MAX_MSG - 64), timeout=30)
    assert echo_of(rep) == (b"r" * (MAX_MSG - 64), 2)


@case
def over_max_msg_size(ch):
    big = b"x" * (MAX_MSG + 10)
    try:
        unary(ch, "/lrpctest.Probe/Echo")(echo_msg(big), timeout=30)
        raise AssertionError("a request over max_msg_size was served")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.RESOURCE_EXHAUSTED)
    try:
        unary(ch, "/lrpctest.Probe/Echo")(echo_msg(b"", 0, MAX_MSG + 10), timeout=30)
        raise AssertionError("a reply over max_msg_size was sent")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.RESOURCE_EXHAUSTED)


@case
def unimplemented_method(ch):
    try:
        unary(ch, "/lrpctest.Probe/NoSuchMethod")(b"", timeout=10)
        raise AssertionError("served")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.UNIMPLEMENTED)


@case
def unimplemented_service(ch):
    try:
        unary(ch, "/lrpctest.NoSuchService/Echo")(b"", timeout=10)
        raise AssertionError("served")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.UNIMPLEMENTED)


@case
def status_code_and_message(ch):
    for code in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.NOT_FOUND,
                 grpc.StatusCode.ABORTED, grpc.StatusCode.DATA_LOSS):
        try:
            unary(ch, "/lrpctest.Probe/Fail")(
                fail_req(code.value[0], "test status message"), timeout=10)
            raise AssertionError("no error")
        except grpc.RpcError as e:
            expect_code(e, code)
            assert e.details() == "test status message", e.details()


@case
def special_status_message(ch):
    text = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608 100%\t\n"
    try:
        unary(ch, "/lrpctest.Probe/Fail")(fail_req(2, text), timeout=10)
        raise AssertionError("no error")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.UNKNOWN)
        assert e.details() == text, repr(e.details())


@case
def compressed_request(ch):
    # grpcio compresses with gzip and says so: the server only speaks
    # identity and must answer UNIMPLEMENTED.
    try:
        unary(ch, "/lrpctest.Probe/Echo")(echo_msg(b"z" * 1000), timeout=10,
                                           compression=grpc.Compression.Gzip)
        raise AssertionError("served")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.UNIMPLEMENTED)


@case
def timeout_on_sleeping_server(ch):
    t0 = time.monotonic()
    try:
        unary(ch, "/lrpctest.Probe/Slow")(slow_req(1, 3000), timeout=0.2)
        raise AssertionError("served")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert time.monotonic() - t0 < 2.5, "deadline not kept"
    # The server still answers at once.
    assert unary(ch, "/lrpctest.Probe/Echo")(b"", timeout=10) == b""


@case
def concurrent_unary(ch):
    errors = []

    def worker(k):
        try:
            for i in range(50):
                p = bytes([k, i]) * (1 + (k * 31 + i) % 300)
                assert echo_of(unary(ch, "/lrpctest.Probe/Echo")(
                    echo_msg(p, k * 1000 + i + 1), timeout=20)) == (p, k * 1000 + i + 1)
        except Exception as e:
            errors.append(e)
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]


def stream_unary(ch, path):
    return ch.stream_unary(path, request_serializer=ident, response_deserializer=ident)


def unary_stream(ch, path):
    return ch.unary_stream(path, request_serializer=ident, response_deserializer=ident)


def stream_stream(ch, path):
    return ch.stream_stream(path, request_serializer=ident, response_deserializer=ident)


@case
def client_streaming(ch):
    sizes = [27182, 8, 1828, 45904]
    reqs = [echo_msg(b"c" * n, i) for i, n in enumerate(sizes)]
    rep = stream_unary(ch, "/lrpctest.Streams/Sum")(iter(reqs), timeout=20)
    f = fields(rep)
    assert f.get(2, 0) == len(sizes) and len(f.get(1, b"")) == sizes[-1], f.keys()


@case
def client_streaming_past_window(ch):
    # Each message past HTTP/2's default 64 KiB window and all of them
    # past the 1 MiB one the server announces: it must open as the
    # handler reads, or this hangs until its deadline.
    reqs = [echo_msg(bytes([i]) * 300000, i) for i in range(12)]
    rep = stream_unary(ch, "/lrpctest.Streams/Sum")(iter(reqs), timeout=30)
    f = fields(rep)
    assert f.get(2, 0) == 12 and f.get(1) == bytes([11]) * 300000


@case
def server_streaming(ch):
    got = list(unary_stream(ch, "/lrpctest.Streams/Count")(
        echo_msg(b"", 5, 31415), timeout=20))
    assert len(got) == 5, len(got)
    for i, m in enumerate(got):
        assert echo_of(m) == (b"r" * 31415, i) or fields(m).get(2, 0) == i, i
        assert len(fields(m).get(1, b"")) == 31415


@case
def server_streaming_slow_reader(ch):
    # More than the window holds; the client reads slowly, so the
    # handler must wait for the window rather than the server buffer.
    it = unary_stream(ch, "/lrpctest.Streams/Count")(
        echo_msg(b"", 40, 50000), timeout=60)
    n = 0
    for m in it:
        assert fields(m).get(2, 0) == n
        n += 1
        if n < 5:
            time.sleep(0.05)
    assert n == 40, n


@case
def ping_pong(ch):
    sizes = [31415, 9, 2653, 58979]
    q = queue.Queue()

    def reqs():
        while True:
            m = q.get()
            if m is None:
                return
            yield m
    call = stream_stream(ch, "/lrpctest.Streams/Echo")(reqs(), timeout=20)
    for i, n in enumerate(sizes):
        p = bytes([65 + i]) * n
        q.put(echo_msg(p, i + 1))
        rep = next(call)
        assert echo_of(rep) == (p, i + 1), i
    q.put(None)
    assert list(call) == []
    assert call.code() == grpc.StatusCode.OK


@case
def empty_stream(ch):
    got = list(stream_stream(ch, "/lrpctest.Streams/Echo")(iter([]), timeout=10))
    assert got == [], got


@case
def stream_status(ch):
    # Echo ends with ABORTED at a message with seq UINT64_MAX, after the
    # replies to the messages before it.
    call = stream_stream(ch, "/lrpctest.Streams/Echo")(
        iter([echo_msg(b"a", 1), echo_msg(b"", (1 << 64) - 1)]), timeout=10)
    got = []
    try:
        for m in call:
            got.append(m)
        raise AssertionError("no error")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.ABORTED)
    assert [echo_of(m) for m in got] == [(b"a", 1)], got


@case
def cancel_after_begin(ch):
    gate = threading.Event()

    def reqs():
        gate.wait(10)
        return
        yield
    fut = stream_unary(ch, "/lrpctest.Streams/Sum").future(reqs(), timeout=20)
    time.sleep(0.1)
    fut.cancel()
    gate.set()
    assert fut.cancelled()
    try:
        fut.result()
        raise AssertionError("a cancelled call returned")
    except grpc.FutureCancelledError:
        pass


@case
def cancel_after_first_response(ch):
    q = queue.Queue()

    def reqs():
        while True:
            m = q.get()
            if m is None:
                return
            yield m
    call = stream_stream(ch, "/lrpctest.Streams/Echo")(reqs(), timeout=20)
    q.put(echo_msg(b"x" * 31415, 1))
    assert echo_of(next(call)) == (b"x" * 31415, 1)
    call.cancel()
    q.put(None)
    try:
        next(call)
        raise AssertionError("read after cancel")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.CANCELLED)


@case
def oversized_headers(ch):
    # 8 KiB of metadata at most: the server says so.
    try:
        unary(ch, "/lrpctest.Probe/Echo")(b"", timeout=10,
                                           metadata=[("x-big", "a" * 9000)])
        raise AssertionError("served")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.code()
        assert e.details() == "request metadata exceeds 8192 bytes", e.details()
    # 16 KiB of headers in all: the server (or grpcio, which reads our
    # SETTINGS_MAX_HEADER_LIST_SIZE) refuses the call.
    try:
        unary(ch, "/lrpctest.Probe/Echo")(b"", timeout=10,
                                           metadata=[("x-big", "a" * 17000)])
        raise AssertionError("served")
    except grpc.RpcError as e:
        assert e.code() in (grpc.StatusCode.RESOURCE_EXHAUSTED,
                            grpc.StatusCode.INTERNAL), e.code()
    # A binary value (grpcio sends it in base64) is taken.
    try:
        unary(ch, "/lrpctest.Probe/Echo")(b"", timeout=10,
                                           metadata=[("x-raw-bin", b"\x01\x02")])
    except grpc.RpcError as e:
        raise AssertionError("grpcio's own base64 was refused: %r" % e)
    assert unary(ch, "/lrpctest.Probe/Echo")(b"", timeout=10) == b""


def raw_connection(target, data):
    """Send data on a connection of its own; return what came back before
    the server closed it (it must, within 10 s)."""
    host, port = target.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(data)
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    return got


@case
def bad_http2_costs_one_connection(ch, target):
    # Not HTTP/2 at all, then a bad frame after a good preface: each
    # connection is closed (after a GOAWAY in the second case), and the
    # channel's own connection does not notice.
    raw_connection(target, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    # HEADERS on an even (server-initiated) stream id: a connection error.
    bad = b"\x00\x00\x01\x01\x04\x00\x00\x00\x02\x82"
    types = frame_types(raw_connection(target, preface + settings + bad))
    assert types and types[0] == 4 and 7 in types, types  # SETTINGS ... GOAWAY
    assert echo_of(unary(ch, "/lrpctest.Probe/Echo")(echo_msg(b"ok", 3), timeout=10)) == (b"ok", 3)


@case
def goaway_outlives_unread_input(ch, target):
    # A bad frame with bytes behind it that the server may not have read
    # when it stops reading, then GOAWAY and the hang-up; the client sends
    # on after the hang-up, before and after reading. Closed at once, the
    # socket would answer with a reset and the client could lose the
    # GOAWAY or fail its sends; the server's lingering close
    # (runtime/src/transport/linger.h) reads them away and ends at the
    # client's EOF. All of it stays under the linger's 64 KiB, however
    # much the server's first read took.
    host, port = target.rsplit(":", 1)
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    bad = b"\x00\x00\x01\x01\x04\x00\x00\x00\x02\x82"
    s = socket.create_connection((host, int(port)), timeout=10)
    try:
        s.sendall(preface + settings + bad + bytes(40 * 1024))
        p = select.poll()
        p.register(s, select.POLLRDHUP)
        assert p.poll(10000), "no hang-up within 10 s"
        s.sendall(bytes(4096))
        got = b""
        while len(got) < 9 or 7 not in frame_types(got):
            b = s.recv(65536)
            assert b, "the connection ended before a GOAWAY: %r" % got
            got += b
        s.sendall(bytes(4096))
        while True:
            b = s.recv(65536)  # a reset raises ConnectionResetError here
            if not b:
                break
    finally:
        s.close()
    assert echo_of(unary(ch, "/lrpctest.Probe/Echo")(echo_msg(b"ok", 4), timeout=10)) == (b"ok", 4)


def frame_types(got):
    """The HTTP/2 frame types in got, whole frames only."""
    types, off = [], 0
    while len(got) - off >= 9:
        n = int.from_bytes(got[off:off + 3], "big")
        if len(got) - off < 9 + n:
            break
        types.append(got[off + 3])
        off += 9 + n
    return types


def graceful_stop(server, target):
    """A call in progress when the server is told to stop finishes; the
    server then exits 0."""
    ch = grpc.insecure_channel(target)
    fut = unary(ch, "/lrpctest.Probe/Slow").future(slow_req(9, 1000), timeout=20)
    # (Earlier cases' Slow calls printed theirs.)
    for line in server.stdout:
        if line.strip() == "slow-enter 9":
            break
    server.send_signal(signal.SIGTERM)
    rep = fut.result()
    assert fields(rep).get(1) == 9, rep
    assert server.wait(20) == 0, "probe server exit status"
    ch.close()


def main():
    probe = sys.argv[1] if len(sys.argv) > 1 else os.environ["LRPC_PROBE"]
    env = dict(os.environ, LRPC_PROBE_GRPC="1")
    env.setdefault("LAZYRPC_DIR", tempfile.mkdtemp(prefix="lrpc-grpc-"))
    server, target = start_server([probe, "server", "grpc-interop-%d" % os.getpid(), "2",
                                   str(MAX_MSG)], env)
    if not target:
        print("FAIL: the probe server did not listen on grpc://")
        return 1
    opts = [("grpc.max_send_message_length", 4 * MAX_MSG),
            ("grpc.max_receive_message_length", 4 * MAX_MSG)]
    ch = grpc.insecure_channel(target, options=opts)
    grpc.channel_ready_future(ch).result(timeout=10)
    for c in (empty_unary, unary_echo, large_unary, over_max_msg_size,
              unimplemented_method, unimplemented_service,
              status_code_and_message, special_status_message,
              compressed_request, timeout_on_sleeping_server, concurrent_unary,
              client_streaming, client_streaming_past_window, server_streaming,
              server_streaming_slow_reader, ping_pong, empty_stream,
              stream_status, cancel_after_begin, cancel_after_first_response,
              oversized_headers):
        c(ch)
    bad_http2_costs_one_connection(ch, target)
    goaway_outlives_unread_input(ch, target)
    # lazyrpc's own grpc:// client too, 4 threads, every reply checked.
    r = subprocess.run([probe, "load", "grpc://" + target, "4", "300"], env=env,
                       stdout=subprocess.DEVNULL)
    print("PASS lazyrpc_client_load" if r.returncode == 0 else
          "FAIL lazyrpc_client_load: exit %d" % r.returncode)
    if r.returncode:
        FAILED.append("lazyrpc_client_load")
    ch.close()
    try:
        graceful_stop(server, target)
        print("PASS graceful_stop")
    except Exception as e:
        print("FAIL graceful_stop: %r" % e)
        FAILED.append("graceful_stop")
        server.kill()
    server.wait()
    if FAILED:
        print("failed:", " ".join(FAILED))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
