#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One of gRPC's interop cases (doc/interop-test-descriptions.md in
grpc/grpc), run by Python gRPC (Debian's python3-grpcio) against lazyrpc's
grpc.testing.TestService (interop_server.c) over grpc://.

    interop_cases.py SERVER PROTO_DIR CASE [--client BIN]

With --client, BIN HOST:PORT CASE makes the case instead (interop_client.cc:
gRPC C++), and this script only starts the server and checks after it.
The messages are generated at run time from PROTO_DIR/grpc/testing/*.proto
with protoc --python_out, the way any Python user of these protos would.
Exit 0: the case passed; 1: it failed; 77: grpcio, protoc or IPv4 missing,
or the case needs what lazyrpc lacks (said in the output).
"""
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grpc_peer import need_grpc, start_server  # noqa: E402

grpc = need_grpc()

# What the cases need that lazyrpc does not do yet: they skip, saying why.
MISSING = {}


def load_messages(proto_dir, out):
    """messages_pb2 and empty_pb2, loaded under names of their own (the
    protos' package directory is called grpc, which would hide grpcio)."""
    protoc = shutil.which("protoc")
    if not protoc:
        print("SKIP: protoc is not installed")
        sys.exit(77)
    subprocess.run([protoc, "--proto_path=" + proto_dir, "--python_out=" + out,
                    "grpc/testing/empty.proto", "grpc/testing/messages.proto"],
                   check=True)
    mods = []
    for name in ("empty", "messages"):
        path = os.path.join(out, "grpc", "testing", name + "_pb2.py")
        spec = importlib.util.spec_from_file_location("interop_%s_pb2" % name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mods.append(mod)
    return mods


E, M = None, None
SVC = "/grpc.testing.TestService/"


def method(ch, kind, name, req, rep, svc=SVC):
    return getattr(ch, kind)(svc + name, request_serializer=req.SerializeToString,
                             response_deserializer=rep.FromString)


def zeros(n):
    return M.Payload(body=bytes(n))


def expect_code(err, code, message=None):
    assert err.code() == code, "code %s, want %s (%r)" % (err.code(), code, err.details())
    if message is not None:
        assert err.details() == message, "message %r, want %r" % (err.details(), message)


def empty_unary(ch):
    rep = method(ch, "unary_unary", "EmptyCall", E.Empty, E.Empty)(E.Empty(), timeout=10)
    assert rep == E.Empty()


def large_unary(ch):
    call = method(ch, "unary_unary", "UnaryCall", M.SimpleRequest, M.SimpleResponse)
    rep = call(M.SimpleRequest(response_size=314159, payload=zeros(271828)), timeout=10)
    assert rep.payload.body == bytes(314159), len(rep.payload.body)


def client_streaming(ch):
    call = method(ch, "stream_unary", "StreamingInputCall", M.StreamingInputCallRequest,
                  M.StreamingInputCallResponse)
    sizes = (27182, 8, 1828, 45904)
    rep = call(iter([M.StreamingInputCallRequest(payload=zeros(n)) for n in sizes]),
               timeout=10)
    assert rep.aggregated_payload_size == 74922, rep


def server_streaming(ch):
    call = method(ch, "unary_stream", "StreamingOutputCall", M.StreamingOutputCallRequest,
                  M.StreamingOutputCallResponse)
    sizes = (31415, 9, 2653, 58979)
    req = M.StreamingOutputCallRequest(
        response_parameters=[M.ResponseParameters(size=n) for n in sizes])
    got = [len(r.payload.body) for r in call(req, timeout=10)]
    assert got == list(sizes), got


def full_duplex(ch, timeout=10):
    return method(ch, "stream_stream", "FullDuplexCall", M.StreamingOutputCallRequest,
                  M.StreamingOutputCallResponse)


class Feed:
    """A request iterator the case feeds one message at a time."""

    def __init__(self):
        import queue
        self.q = queue.Queue()

    def put(self, m):
        self.q.put(m)

    def close(self):
        self.q.put(None)

    def __iter__(self):
        return self

    def __next__(self):
        m = self.q.get()
        if m is None:
            raise StopIteration
        return m


def ping_pong(ch):
    feed = Feed()
    replies = full_duplex(ch)(feed, timeout=10)
    for want, send in ((31415, 27182), (9, 8), (2653, 1828), (58979, 45904)):
        feed.put(M.StreamingOutputCallRequest(
            response_parameters=[M.ResponseParameters(size=want)], payload=zeros(send)))
        rep = next(replies)
        assert len(rep.payload.body) == want, (len(rep.payload.body), want)
    feed.close()
    assert list(replies) == []
    assert replies.code() == grpc.StatusCode.OK, replies.code()


def empty_stream(ch):
    replies = full_duplex(ch)(iter([]), timeout=10)
    assert list(replies) == []
    assert replies.code() == grpc.StatusCode.OK


def status_code_and_message(ch):
    msg = "test status message"
    status = M.EchoStatus(code=2, message=msg)
    call = method(ch, "unary_unary", "UnaryCall", M.SimpleRequest, M.SimpleResponse)
    try:
        call(M.SimpleRequest(response_status=status), timeout=10)
        raise AssertionError("UnaryCall succeeded")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.UNKNOWN, msg)
    replies = full_duplex(ch)(iter([M.StreamingOutputCallRequest(response_status=status)]),
                              timeout=10)
    try:
        list(replies)
        raise AssertionError("FullDuplexCall succeeded")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.UNKNOWN, msg)


def special_status_message(ch):
    msg = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
    call = method(ch, "unary_unary", "UnaryCall", M.SimpleRequest, M.SimpleResponse)
    try:
        call(M.SimpleRequest(response_status=M.EchoStatus(code=2, message=msg)), timeout=10)
        raise AssertionError("UnaryCall succeeded")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.UNKNOWN, msg)


ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")


def expect_echoed(initial, trailing):
    assert ECHO_INITIAL in list(initial), initial
    assert ECHO_TRAILING in list(trailing), trailing


def custom_metadata(ch):
    md = [ECHO_INITIAL, ECHO_TRAILING]
    call = method(ch, "unary_unary", "UnaryCall", M.SimpleRequest, M.SimpleResponse)
    rep, c = call.with_call(M.SimpleRequest(response_size=314159, payload=zeros(271828)),
                            timeout=10, metadata=md)
    assert len(rep.payload.body) == 314159
    expect_echoed(c.initial_metadata(), c.trailing_metadata())
    replies = full_duplex(ch)(iter([M.StreamingOutputCallRequest(
        response_parameters=[M.ResponseParameters(size=314159)], payload=zeros(271828))]),
        timeout=10, metadata=md)
    assert [len(r.payload.body) for r in replies] == [314159]
    expect_echoed(replies.initial_metadata(), replies.trailing_metadata())


def unimplemented_method(ch):
    try:
        method(ch, "unary_unary", "UnimplementedCall", E.Empty, E.Empty)(E.Empty(), timeout=10)
        raise AssertionError("UnimplementedCall succeeded")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.UNIMPLEMENTED)


def unimplemented_service(ch):
    try:
        method(ch, "unary_unary", "UnimplementedCall", E.Empty, E.Empty,
               svc="/grpc.testing.UnimplementedService/")(E.Empty(), timeout=10)
        raise AssertionError("UnimplementedService succeeded")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.UNIMPLEMENTED)


def timeout_on_sleeping_server(ch):
    feed = Feed()
    replies = full_duplex(ch)(feed, timeout=0.001)
    feed.put(M.StreamingOutputCallRequest(payload=zeros(27182)))
    try:
        list(replies)
        raise AssertionError("the stream outlived its 1 ms deadline")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.DEADLINE_EXCEEDED)
    feed.close()


def cancel_after_begin(ch):
    call = method(ch, "stream_unary", "StreamingInputCall", M.StreamingInputCallRequest,
                  M.StreamingInputCallResponse)
    feed = Feed()
    fut = call.future(feed, timeout=10)
    fut.cancel()
    try:
        fut.result()
        raise AssertionError("a cancelled call succeeded")
    except grpc.FutureCancelledError:
        pass
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.CANCELLED)
    feed.close()


def cancel_after_first_response(ch):
    feed = Feed()
    replies = full_duplex(ch)(feed, timeout=10)
    feed.put(M.StreamingOutputCallRequest(
        response_parameters=[M.ResponseParameters(size=31415)], payload=zeros(27182)))
    assert len(next(replies).payload.body) == 31415
    replies.cancel()
    try:
        next(replies)
        raise AssertionError("a cancelled stream went on")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.CANCELLED)
    feed.close()


CASES = {f.__name__: f for f in (
    empty_unary, large_unary, client_streaming, server_streaming, ping_pong, empty_stream,
    status_code_and_message, special_status_message, custom_metadata, unimplemented_method,
    unimplemented_service, timeout_on_sleeping_server, cancel_after_begin,
    cancel_after_first_response)}


def have_ipv4():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        return True
    except OSError:
        return False


def main():
    global E, M
    server_bin, proto_dir, case = sys.argv[1:4]
    client = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--client" else None
    if case in MISSING:
        print("SKIP %s: %s" % (case, MISSING[case]))
        return 77
    if case not in CASES:
        print("FAIL: no case %r" % case)
        return 1
    if not have_ipv4():
        print("SKIP %s: no IPv4 on this kernel" % case)
        return 77
    tmp = tempfile.mkdtemp(prefix="lrpc-interop-")
    try:
        E, M = load_messages(proto_dir, tmp)
        env = dict(os.environ, LAZYRPC_DIR=tmp)
        server, target = start_server([server_bin, "grpc://127.0.0.1:0"], env)
        if not target:
            print("FAIL: the interop server did not listen on grpc://")
            return 1
        ch = grpc.insecure_channel(target)
        grpc.channel_ready_future(ch).result(timeout=10)
        failed = False
        try:
            if client:
                r = subprocess.run([client, target, case])
                assert r.returncode == 0, "%s exited %d" % (client, r.returncode)
            else:
                CASES[case](ch)
            # Whatever the case did, the server goes on serving.
            empty_unary(ch)
            print("PASS %s" % case)
        except Exception as e:  # noqa: BLE001 - report any failure as the case's
            print("FAIL %s: %r" % (case, e))
            failed = True
        ch.close()
        server.terminate()
        rc = server.wait(30)
        if rc != 0:
            print("FAIL %s: the interop server exited %d" % (case, rc))
            failed = True
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
