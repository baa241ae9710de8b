#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One of gRPC's interop cases (doc/interop-test-descriptions.md in
grpc/grpc), run by Python gRPC (Debian's python3-grpcio) against lazyrpc's
grpc.testing.TestService (interop_server.c) over grpc://.

    interop_cases.py SERVER PROTO_DIR CASE [--client BIN]
    interop_cases.py SERVER PROTO_DIR CASE --lrpc-client BIN --peer py|PEER
    ... --tls server|mutual      over grpcs:// (certificates made by openssl)

With --client, BIN HOST:PORT CASE makes the case instead (cxx_client.cc:
gRPC C++), and this script only starts the server and checks after it.
With --lrpc-client the other way round: lazyrpc's client (interop_client.c,
BIN grpc://HOST:PORT CASE) makes the case against Python's TestService
(below) or the one PEER serves (cxx_server.c: gRPC C++).
The messages are generated at run time from PROTO_DIR/grpc/testing/*.proto
with protoc --python_out, the way any Python user of these protos would.
Exit 0: the case passed; 1: it failed; 77: grpcio, protoc or IPv4 missing,
or the case needs what lazyrpc lacks (said in the output).
"""
import importlib.util
import os
import time
from concurrent import futures
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grpc_peer import make_certs, need_grpc, start_server  # noqa: E402

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


def abort_with(ctx, status):
    code = next(c for c in grpc.StatusCode if c.value[0] == status.code)
    ctx.abort(code, status.message)


def echo_metadata(ctx):
    md = dict(ctx.invocation_metadata())
    if ECHO_INITIAL[0] in md:
        ctx.send_initial_metadata([(ECHO_INITIAL[0], md[ECHO_INITIAL[0]])])
    if ECHO_TRAILING[0] in md:
        ctx.set_trailing_metadata([(ECHO_TRAILING[0], md[ECHO_TRAILING[0]])])


def answer(req, ctx):
    for rp in req.response_parameters:
        if rp.interval_us:
            time.sleep(min(rp.interval_us, 1000000) / 1e6)
        yield M.StreamingOutputCallResponse(payload=zeros(rp.size))
    if req.response_status.code:
        abort_with(ctx, req.response_status)


class PyTestService(grpc.GenericRpcHandler):
    """grpc.testing.TestService in Python gRPC, for lazyrpc's client."""

    def service(self, details):
        name = details.method[len(SVC):] if details.method.startswith(SVC) else None

        def unary_call(req, ctx):
            echo_metadata(ctx)
            if req.response_status.code:
                abort_with(ctx, req.response_status)
            return M.SimpleResponse(payload=zeros(req.response_size))

        def full_duplex(reqs, ctx):
            echo_metadata(ctx)
            for req in reqs:
                yield from answer(req, ctx)

        def half_duplex(reqs, ctx):
            held = list(reqs)
            for req in held:
                yield from answer(req, ctx)

        def streaming_input(reqs, ctx):
            return M.StreamingInputCallResponse(
                aggregated_payload_size=sum(len(r.payload.body) for r in reqs))

        kinds = {
            "EmptyCall": (grpc.unary_unary_rpc_method_handler, lambda req, ctx: E.Empty(),
                          E.Empty, E.Empty),
            "UnaryCall": (grpc.unary_unary_rpc_method_handler, unary_call,
                          M.SimpleRequest, M.SimpleResponse),
            "StreamingOutputCall": (grpc.unary_stream_rpc_method_handler, answer,
                                    M.StreamingOutputCallRequest,
                                    M.StreamingOutputCallResponse),
            "StreamingInputCall": (grpc.stream_unary_rpc_method_handler, streaming_input,
                                   M.StreamingInputCallRequest,
                                   M.StreamingInputCallResponse),
            "FullDuplexCall": (grpc.stream_stream_rpc_method_handler, full_duplex,
                               M.StreamingOutputCallRequest, M.StreamingOutputCallResponse),
            "HalfDuplexCall": (grpc.stream_stream_rpc_method_handler, half_duplex,
                               M.StreamingOutputCallRequest, M.StreamingOutputCallResponse),
        }
        if name not in kinds:
            return None
        make, fn, req, rep = kinds[name]
        return make(fn, request_deserializer=req.FromString,
                    response_serializer=rep.SerializeToString)


def lrpc_client_case(client, peer, case, env, tls=None, tmp=None):
    """lazyrpc's client makes the case against a peer's TestService; with
    tls ("server", "mutual") over grpcs://."""
    scheme, args, peer_tls = "grpc://", [], []
    if tls:
        if not shutil.which("openssl"):
            print("SKIP %s: openssl is not installed" % case)
            return 77
        certs = make_certs(tmp)
        scheme, args = "grpcs://", [certs["ca"]]
        peer_tls = ["--tls", certs["cert"], certs["key"]]
        if tls == "mutual":
            args += [certs["client_cert"], certs["client_key"]]
            peer_tls.append(certs["ca"])
    if peer == "py":
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                             handlers=[PyTestService()])
        if tls:
            read = lambda name: open(certs[name], "rb").read()  # noqa: E731
            creds = grpc.ssl_server_credentials(
                [(read("key"), read("cert"))],
                root_certificates=read("ca") if tls == "mutual" else None,
                require_client_auth=tls == "mutual")
            port = server.add_secure_port("127.0.0.1:0", creds)
        else:
            port = server.add_insecure_port("127.0.0.1:0")
        target = "127.0.0.1:%d" % port
        server.start()
    else:
        server, target = start_server([peer] + peer_tls, env)
        if not target:
            print("FAIL: %s did not listen on %s" % (peer, scheme))
            return 1
    try:
        if tls == "mutual":
            # Without its certificate the client is refused, and says so.
            r = subprocess.run([client, scheme + target, "tls_refused", certs["ca"]],
                               env=env)
            if r.returncode != 0:
                print("FAIL: a client without a certificate was not refused")
                return 1
        return subprocess.run([client, scheme + target, case] + args,
                              env=env).returncode
    finally:
        if peer == "py":
            server.stop(0).wait()
        else:
            server.terminate()
            server.wait(30)


def auth_interceptor(server_bin, env):
    """Not an interop case: lazyrpc's own interceptors over grpc://. With
    --auth, calls without the bearer token are UNAUTHENTICATED before any
    handler runs, and every call gets the interceptor's trailer."""
    server, target = start_server([server_bin, "--auth", "s3cret", "grpc://127.0.0.1:0"],
                                  env)
    assert target, "the interop server did not listen"
    try:
        ch = grpc.insecure_channel(target)
        call = method(ch, "unary_unary", "EmptyCall", E.Empty, E.Empty)
        try:
            call(E.Empty(), timeout=10, metadata=[("authorization", "Bearer wrong")])
            raise AssertionError("served with a wrong token")
        except grpc.RpcError as e:
            expect_code(e, grpc.StatusCode.UNAUTHENTICATED, "EmptyCall needs a bearer token")
            assert ("x-served-by", "lazyrpc") in list(e.trailing_metadata())
        rep, c = call.with_call(E.Empty(), timeout=10,
                                metadata=[("authorization", "Bearer s3cret")])
        assert ("x-served-by", "lazyrpc") in list(c.trailing_metadata())
        replies = full_duplex(ch)(iter([]), timeout=10,
                                  metadata=[("authorization", "Bearer s3cret")])
        assert list(replies) == []
        ch.close()
    finally:
        server.terminate()
        server.wait(30)


def keepalive(server_bin, env):
    """Not an interop case: a client that says nothing after its preface
    gets a PING, and then, still saying nothing, is dropped."""
    server, target = start_server([server_bin, "--keepalive", "200", "grpc://127.0.0.1:0"],
                                  env)
    assert target, "the interop server did not listen"
    try:
        host, port = target.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=20)
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\0\0\0\x04\0\0\0\0\0")
        got, types = b"", []
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
            while len(got) >= 9 and len(got) >= 9 + int.from_bytes(got[:3], "big"):
                n = int.from_bytes(got[:3], "big")
                types.append((got[3], got[4]))
                got = got[9 + n:]
        s.close()
        assert (6, 0) in types, "no PING before the close: %r" % types
        # A client that answers (grpcio does) is served as ever.
        ch = grpc.insecure_channel(target)
        method(ch, "unary_unary", "EmptyCall", E.Empty, E.Empty)(E.Empty(), timeout=10)
        ch.close()
    finally:
        server.terminate()
        server.wait(30)


CASES = {f.__name__: f for f in (
    empty_unary, large_unary, client_streaming, server_streaming, ping_pong, empty_stream,
    status_code_and_message, special_status_message, custom_metadata, unimplemented_method,
    unimplemented_service, timeout_on_sleeping_server, cancel_after_begin,
    cancel_after_first_response)}


def tls_channel(target, certs, mutual, with_cert=True):
    def read(k):
        with open(certs[k], "rb") as f:
            return f.read()
    creds = grpc.ssl_channel_credentials(
        root_certificates=read("ca"),
        private_key=read("client_key") if mutual and with_cert else None,
        certificate_chain=read("client_cert") if mutual and with_cert else None)
    return grpc.secure_channel(target, creds)


def no_client_cert_refused(target, certs):
    """A server that requires client certificates refuses a client
    without one: the call fails, and the server serves the next."""
    ch = tls_channel(target, certs, True, with_cert=False)
    try:
        method(ch, "unary_unary", "EmptyCall", E.Empty, E.Empty)(E.Empty(), timeout=5)
        raise AssertionError("served without a client certificate")
    except grpc.RpcError as e:
        expect_code(e, grpc.StatusCode.UNAVAILABLE)
    ch.close()


def not_tls_closed(target):
    """What is not TLS (h2c's preface, here) costs its connection only:
    the server closes it within 10 s, and goes on serving."""
    host, port = target.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\0" * 64)
    while s.recv(4096):
        pass
    s.close()


def have_ipv4():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        return True
    except OSError:
        return False


def main():
    global E, M
    server_bin, proto_dir, case = sys.argv[1:4]
    opts = dict(zip(sys.argv[4::2], sys.argv[5::2]))
    client = opts.get("--client")
    if case in MISSING:
        print("SKIP %s: %s" % (case, MISSING[case]))
        return 77
    if (case not in CASES and case not in ("auth_interceptor", "keepalive") and
            "--lrpc-client" not in sys.argv):
        print("FAIL: no case %r" % case)
        return 1
    if not have_ipv4():
        print("SKIP %s: no IPv4 on this kernel" % case)
        return 77
    tmp = tempfile.mkdtemp(prefix="lrpc-interop-")
    try:
        E, M = load_messages(proto_dir, tmp)
        env = dict(os.environ, LAZYRPC_DIR=tmp)
        if "--lrpc-client" in opts:
            return lrpc_client_case(opts["--lrpc-client"], opts["--peer"], case, env,
                                    opts.get("--tls"), tmp)
        if case in ("auth_interceptor", "keepalive"):
            (auth_interceptor if case == "auth_interceptor" else keepalive)(server_bin, env)
            print("PASS " + case)
            return 0
        tls = opts.get("--tls")
        argv, tls_args = [server_bin, "grpc://127.0.0.1:0"], []
        if tls:
            if not shutil.which("openssl"):
                print("SKIP %s: openssl is not installed" % case)
                return 77
            certs = make_certs(tmp)
            argv = [server_bin, "--tls", certs["cert"], certs["key"]] + \
                ([certs["ca"]] if tls == "mutual" else []) + ["grpcs://127.0.0.1:0"]
            tls_args = [certs["ca"]] + \
                ([certs["client_cert"], certs["client_key"]] if tls == "mutual" else [])
        server, target = start_server(argv, env)
        if not target:
            print("FAIL: the interop server did not listen")
            return 1
        if tls:
            ch = tls_channel(target, certs, tls == "mutual")
        else:
            ch = grpc.insecure_channel(target)
        grpc.channel_ready_future(ch).result(timeout=10)
        failed = False
        try:
            if tls:
                not_tls_closed(target)
            if tls == "mutual":
                no_client_cert_refused(target, certs)
            if client:
                r = subprocess.run([client, target, case] + tls_args)
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
