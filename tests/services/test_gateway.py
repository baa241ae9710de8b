#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The HTTP/JSON gateway against gw_backend (gwtest.proto), over one
transport: test_gateway.py GATEWAY BACKEND TRANSPORT [DESCRIPTOR_SET]

TRANSPORT is lrpc, unix or grpc; with DESCRIPTOR_SET the gateway reads
the descriptors from that file instead of asking the backend by
reflection. grpc:// carries call metadata today, so the request id is
checked end to end there (the handler sees x-request-id)."""
import base64
import http.client
import json
import os
import signal
import socket
import sys
import tempfile
import threading

from svc_test import Proc, check, failures

GATEWAY, BACKEND, TRANSPORT = sys.argv[1:4]
DESCRIPTORS = sys.argv[4] if len(sys.argv) > 4 else None


def start_backend(env, uri):
    b = Proc([BACKEND, uri], env)
    got = b.expect("listen ")
    b.expect("ready")
    return b, got


def request(port, method, path, body=None, headers=None, raw=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    c.request(method, path, body=data, headers=headers or {})
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, r.getheader("X-Request-Id"), text


def call(port, method, body, headers=None):
    st, rid, text = request(port, "POST", "/gwtest.GwTest/" + method, body, headers)
    try:
        return st, rid, json.loads(text) if text else None
    except ValueError:
        return st, rid, text


def raw_http(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(data)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
        if b"\r\n\r\n" in out:
            break
    s.close()
    return out.decode(errors="replace")


FULL = {
    "fDouble": 0.1, "fFloat": 1.5, "fInt64": "-9223372036854775808",
    "fUint64": "18446744073709551615", "fInt32": -2147483648,
    "fFixed64": "18446744073709551615", "fFixed32": 4294967295, "fBool": True,
    "fString": "h\u00e9llo \u2603 \"q\"", "fBytes": base64.b64encode(b"\x00\xff bytes").decode(),
    "fUint32": 4294967295, "fEnum": "GREEN", "fSfixed32": -5, "fSfixed64": "-6",
    "fSint32": -7, "fSint64": "-9223372036854775807",
    "inner": {"name": "in", "n": 3},
    "rInt32": [1, -1, 2147483647], "rString": ["a", "", "c"],
    "rInner": [{"name": "x"}, {}, {"n": 2}], "rEnum": ["RED", "COLOR_UNSPECIFIED", "GREEN"],
    "rSint64": ["-1", "1", "0"], "rDouble": [1.25, -0.5], "rBytes": ["", "AQID"],
    "oInner": {"name": "one"},
    "mCounts": {"a": 1, "b": -2}, "mInners": {"-5": {"name": "neg"}, "7": {}},
    "mFlags": {"true": "yes", "false": "no"},
}


def test_round_trip(port):
    st, _, rep = call(port, "Echo", FULL)
    check(st == 200, "Echo of every kind: %s %s" % (st, rep))
    if st == 200:
        for k, v in FULL.items():
            check(rep.get(k) == v, "field %s came back as %r, not %r" % (k, rep.get(k), v))
        check(set(rep) == set(FULL), "extra fields %s" % (set(rep) - set(FULL)))
    # Other spellings the mapping accepts, and what they come back as.
    st, _, rep = call(port, "Echo", {
        "f_int32": "12", "fInt64": 5, "f_uint64": 7.0, "fEnum": 1, "fBytes": "-_8",
        "fDouble": "NaN", "fFloat": "-Infinity", "rInt32": [], "oText": "t",
        "inner": None, "fBool": False})
    check(st == 200 and rep == {"fInt32": 12, "fInt64": "5", "fUint64": "7", "fEnum": "RED",
                                "fBytes": "+/8=", "fDouble": "NaN", "fFloat": "-Infinity",
                                "oText": "t"},
          "alternative spellings: %s %s" % (st, rep))
    st, _, rep = call(port, "Echo", {})
    check(st == 200 and rep == {}, "empty message: %s %s" % (st, rep))
    st, _, rep = request(port, "POST", "/gwtest.GwTest/Echo")[0], None, None
    check(st == 200, "no body at all is the empty message: %s" % st)


def test_bad_json(port):
    cases = [
        ('{"fInt32": ', "invalid JSON"),
        ('[1, 2]', "must be a JSON object"),
        ('{"a": 1, "a": 2}', "invalid JSON"),
        ('{"noSuchField": 1}', "noSuchField"),
        ('{"fBool": "yes"}', "f_bool"),
        ('{"fInt32": 2147483648}', "f_int32"),
        ('{"fUint32": -1}', "f_uint32"),
        ('{"fInt32": 1.5}', "f_int32"),
        ('{"fEnum": "BLUE"}', "BLUE"),
        ('{"fBytes": "***"}', "base64"),
        ('{"oText": "a", "oInner": {}}', "oneof"),
        ('{"rInt32": 5}', "array"),
        ('{"inner": 5}', "object"),
        ('{"mCounts": {"a": "x"}}', "m_counts"),
        ('{"mInners": {"notanumber": {}}}', "m_inners"),
        ('{"rInt32": [1, null]}', "null"),
        ('\xff\xfe', "invalid JSON"),
        ('{"inner": ' + '{"child": ' * 100 + '{}' + '}' * 101, "nested"),
    ]
    for body, word in cases:
        st, _, text = request(port, "POST", "/gwtest.GwTest/Echo", raw=body.encode("latin-1"))
        try:
            rep = json.loads(text)
        except ValueError:
            rep = {}
        check(st == 400 and rep.get("code") == 3 and word in rep.get("message", ""),
              "bad JSON %r: %s %s" % (body[:40], st, text[:200]))


def test_bad_http(port):
    # libmicrohttpd closes a connection whose request line is not HTTP
    # at all; the gateway lives on (checked after each test).
    raw_http(port, b"GARBAGE\r\n\r\n")
    for bad in (b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
                b"POST /gwtest.GwTest/Echo HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n",
                b"POST /gwtest.GwTest/Echo HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"):
        out = raw_http(port, bad)
        check(out.startswith("HTTP/1.1 400"), "malformed HTTP %r: %r" % (bad[:50], out[:60]))
    out = raw_http(port, b"POST /gwtest.GwTest/Echo HTTP/1.1\r\nHost: x\r\nX-Big: " +
                   b"a" * 70000 + b"\r\n\r\n")
    check(out.split(" ")[1:2] in (["431"], ["413"], ["400"]),
          "headers over max_header_bytes: %r" % out[:80])
    st, _, text = request(port, "POST", "/gwtest.GwTest/Echo",
                          raw='{"fString": "%s"}' % ("x" * 70000))
    check(st == 413 and "max_body_bytes" in text, "a body over max_body_bytes: %s %s"
          % (st, text[:100]))
    out = raw_http(port, b"POST /gwtest.GwTest/Echo HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Length: 5\r\n\r\n{\"a\"")
    # Cut short: the gateway waits for the rest, then times out; the
    # connection closes without a crash (checked by the next requests).


def test_routes(port):
    for path, method, status, code in [
            ("/nothing/here/at/all", "GET", 404, 5),
            ("/gwtest.NoSuch/Echo", "POST", 404, 5),
            ("/gwtest.GwTest/NoSuchMethod", "POST", 501, 12),
            ("/gwtest.GwTest/Echo", "GET", 405, 12),
            ("/gwtest.GwTest/Upload", "POST", 501, 12)]:
        st, _, text = request(port, method, path)
        rep = json.loads(text)
        check(st == status and rep["code"] == code and rep["message"],
              "%s %s: %s %s" % (method, path, st, text))
    st, _, rep = request(port, "GET", "/v1/get/my-key")
    check(st == 200 and json.loads(rep) == {"key": "my-key"}, "GET /v1/get/{key}: %s %s"
          % (st, rep))
    st, _, rep = request(port, "GET", "/v1/raw/ab%20c/42")
    check(st == 200 and json.loads(rep) == {"raw": base64.b64encode(b"ab c").decode(),
                                            "version": "42"},
          "GET /v1/raw/{raw}/{version}: %s %s" % (st, rep))
    st, _, rep = request(port, "POST", "/v1/get/k2", {"version": "3"})
    check(st == 200 and json.loads(rep) == {"key": "k2", "version": "3"},
          "POST /v1/get/{key} with a body: %s %s" % (st, rep))


def test_status_mapping(port):
    grpc_gateway = {1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400,
                    10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401}
    for code, http_status in grpc_gateway.items():
        st, _, rep = call(port, "Fail", {"code": code, "message": "because %d" % code})
        check(st == http_status and rep == {"code": code, "message": "because %d" % code,
                                            "details": []},
              "code %d: %s %s" % (code, st, rep))


def test_deadlines(port):
    for h in ({"X-Deadline-Ms": "200"}, {"Grpc-Timeout": "200m"}):
        st, _, rep = call(port, "Sleep", {"ms": 20000}, h)
        check(st == 504 and rep["code"] == 4, "deadline %s: %s %s" % (h, st, rep))
    st, _, rep = call(port, "Sleep", {"ms": 1}, {"X-Deadline-Ms": "soon"})
    check(st == 400 and "X-Deadline-Ms" in rep["message"], "bad deadline: %s %s" % (st, rep))


def test_request_id(port):
    st, rid, rep = call(port, "WhoAmI", {}, {"X-Request-Id": "req-42.a"})
    check(st == 200 and rid == "req-42.a", "client's id returned: %s %s" % (st, rid))
    # Carried as metadata by every transport (unix:// since 0.5.0).
    check(rep == {"requestId": "req-42.a"}, "handler saw the client's id: %s" % rep)
    st, rid, rep = call(port, "WhoAmI", {})
    check(st == 200 and rid and len(rid) == 32, "a made id: %s %r" % (st, rid))
    check(rep == {"requestId": rid}, "handler saw the made id: %s %s" % (rep, rid))
    st, rid, _ = call(port, "WhoAmI", {}, {"X-Request-Id": "bad id\x7f"})
    check(st == 200 and rid and " " not in rid, "an unusable id is replaced: %r" % rid)
    st, rid, _ = call(port, "Fail", {"code": 5}, {"X-Request-Id": "err-1"})
    check(st == 404 and rid == "err-1", "errors carry the id too: %s %s" % (st, rid))


def test_streaming(port):
    st, _, text = request(port, "POST", "/gwtest.GwTest/Count", {"n": 3})
    lines = [json.loads(x) for x in text.splitlines()]
    check(st == 200 and lines == [{}, {"i": 1}, {"i": 2}], "stream: %s %r" % (st, text))
    st, _, text = request(port, "POST", "/gwtest.GwTest/Count", {"n": 2, "failCode": 9})
    lines = [json.loads(x) for x in text.splitlines()]
    check(st == 200 and lines == [{}, {"i": 1}, {"error": {
        "code": 9, "message": "failed after 2", "details": []}}],
        "stream that fails midway: %s %r" % (st, text))
    st, _, text = request(port, "POST", "/gwtest.GwTest/Count", {"failCode": 5})
    check(st == 404 and json.loads(text)["code"] == 5, "stream that fails at once: %s %s"
          % (st, text))


def test_backend_killed(port, backend):
    result = {}

    def slow():
        result["r"] = call(port, "Sleep", {"ms": 60000}, {"X-Deadline-Ms": "60000"})

    t = threading.Thread(target=slow)
    t.start()
    backend.expect("sleeping")
    backend.p.send_signal(signal.SIGKILL)
    backend.p.wait()
    t.join()
    st, _, rep = result["r"]
    check(st in (503, 504) and rep["code"] in (14, 4) and rep["message"],
          "backend killed mid-request: %s %s" % (st, rep))
    st, _, rep = call(port, "Echo", {})
    check(st == 503 and rep["code"] == 14, "backend down: %s %s" % (st, rep))


def test_backend_refused(env, tmp, cfg):
    """A backend that refuses the gateway's connection (server full): the
    gateway's error says why, in the backend's words. The gateway reads
    the descriptors from a file (GW_DESCRIPTORS): a refused backend has
    no reflection to ask."""
    if TRANSPORT == "unix":
        path = os.path.join(tmp, "full.sock")
        want = (429, 8, "max_conns")
        full, uri = start_backend(dict(env, GW_BACKEND_MAX_CONNS="1"), "unix://" + path)
        hold = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        addr = path
    else:
        want = (503, 14, "max_conns")
        full, uri = start_backend(dict(env, GW_BACKEND_MAX_CONNS="1"), "grpc://127.0.0.1:0")
        hold = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        addr = ("127.0.0.1", int(uri.rsplit(":", 1)[1]))
    gw = None
    try:
        # The one connection it takes; the gateway's comes after it
        # (accepted in arrival order) and is refused.
        hold.connect(addr)
        be = dict(cfg["backends"][0], uri=uri, descriptor_set=os.environ["GW_DESCRIPTORS"])
        cpath = os.path.join(tmp, "gateway-full.json")
        with open(cpath, "w") as f:
            json.dump(dict(cfg, backends=[be]), f)
        gw = Proc([GATEWAY, cpath], env)
        port = int(gw.expect("gateway: listening on http://127.0.0.1:"))
        st, _, rep = call(port, "Echo", {})
        check(st == want[0] and rep["code"] == want[1] and "server full" in rep["message"]
              and want[2] in rep["message"], "refused by a full backend: %s %s" % (st, rep))
    finally:
        hold.close()
        for p in (gw, full):
            if p and p.p.poll() is None:
                p.p.send_signal(signal.SIGTERM)
                p.p.wait()


def main():
    tmp = tempfile.mkdtemp(prefix="gwtest-")
    os.chmod(tmp, 0o700)
    env = dict(os.environ, LAZYRPC_DIR=tmp)
    uri = {"lrpc": "lrpc://gwtest", "unix": "unix://%s/gwtest.sock" % tmp,
           "grpc": "grpc://127.0.0.1:0", "tcp": "tcp://127.0.0.1:0"}[TRANSPORT]
    backend, uri = start_backend(env, uri)
    be = {"uri": uri, "services": ["gwtest.GwTest"]}
    if DESCRIPTORS:
        be["descriptor_set"] = DESCRIPTORS
    cfg = {"listen": "127.0.0.1:0", "max_body_bytes": 65536, "max_header_bytes": 16384,
           "max_inflight": 16, "max_deadline_ms": 60000, "connection_timeout_s": 1, "backends": [be],
           "routes": [
               {"method": "GET", "path": "/v1/get/{key}", "call": "gwtest.GwTest/Get"},
               {"method": "POST", "path": "/v1/get/{key}", "call": "gwtest.GwTest/Get",
                "body": True},
               {"method": "GET", "path": "/v1/raw/{raw}/{version}",
                "call": "gwtest.GwTest/Get"}]}
    path = os.path.join(tmp, "gateway.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    gw = Proc([GATEWAY, path], env)
    port = int(gw.expect("gateway: listening on http://127.0.0.1:"))
    try:
        for t in (test_round_trip, test_bad_json, test_bad_http, test_routes,
                  test_status_mapping, test_deadlines, test_request_id, test_streaming):
            t(port)
            check(gw.p.poll() is None, "the gateway is alive after %s" % t.__name__)
        test_backend_killed(port, backend)
        check(gw.p.poll() is None, "the gateway is alive at the end")
        if TRANSPORT in ("unix", "grpc"):
            test_backend_refused(env, tmp, cfg)
    finally:
        if backend.p.poll() is None:
            backend.p.send_signal(signal.SIGTERM)
            backend.p.wait()
        gw.p.send_signal(signal.SIGTERM)
        rc = gw.p.wait()
        check(rc == 0, "the gateway exits 0 on SIGTERM, not %s" % rc)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
