#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`lazyrpc describe`, `lazyrpc call` and `lazyrpc health` against live
servers: gw_backend (gwtest.proto: every field kind, a method that fails
with the status asked for, one that sleeps, a server-streaming and a
client-streaming method; with reflection and health) over lrpc://, a bare
name, unix://, tcp://, grpc:// and grpc+unix://; std_server (health that lrpcstd.Control
moves); and a greeter, which serves neither reflection nor health. And the
errors: a missing server, service and method, bad JSON, a request that
does not fit, a status, a deadline.

Usage: test_call.py LAZYRPC GW_BACKEND STD_SERVER GREETER_SERVER
"""
import json
import os
import subprocess
import sys
import tempfile

from checks import WAIT, check, start, verdict  # tests/tools/checks.py

TOOL, BACKEND, STD, GREETER = sys.argv[1:5]
KINDS = {"fDouble": 1.5, "fInt64": "-9007199254740993", "fUint64": "18446744073709551615",
         "fInt32": -7, "fBool": True, "fString": "h\u00e9llo \"q\"", "fBytes": "AAEC/w==",
         "fEnum": "GREEN", "inner": {"name": "a", "child": {"n": 2}}, "rInt32": [1, -2, 3],
         "rInner": [{"n": 1}, {}], "rEnum": ["RED", "GREEN"], "oInner": {"name": "o"},
         "mCounts": {"x": 1, "y": -1}, "mInners": {"-5": {"n": 5}}, "mFlags": {"true": "t"}}


def tool(*args, stdin=None):
    return subprocess.run([TOOL] + list(args), capture_output=True, text=True, timeout=WAIT,
                          input=stdin)


def describe(uris):
    r = tool("describe", uris["lrpc"], "--json")
    check(r.returncode == 0, "describe --json runs (%s)" % r.stderr.strip())
    svcs = {s["name"]: s for s in json.loads(r.stdout)["services"]}
    kinds = {m["name"]: m["kind"] for m in svcs.get("gwtest.GwTest", {}).get("methods", [])}
    check(kinds.get("Echo") == "unary" and kinds.get("Count") == "server_streaming" and
          kinds.get("Upload") == "client_streaming" and
          svcs.get("gwtest.GwTest", {}).get("file") == "gwtest.proto",
          "it lists gwtest.GwTest's methods with their kinds: %s" % kinds)
    refl = svcs.get("grpc.reflection.v1.ServerReflection", {}).get("methods", [{}])
    check(refl[0].get("kind") == "bidi_streaming" and "grpc.health.v1.Health" in svcs,
          "and reflection (bidi) and health beside it")

    r = tool("describe", uris["grpc"], "gwtest.Kinds", "--json")
    check(r.returncode == 0, "describe a message over grpc:// (%s)" % r.stderr.strip())
    out = json.loads(r.stdout)
    msg = out["messages"][0]
    fields = {f["name"]: f for f in msg["fields"]}
    check(msg["name"] == "gwtest.Kinds" and len(fields) == 29 and
          fields["f_int64"]["type"] == "int64" and fields["f_int64"]["json_name"] == "fInt64" and
          fields["f_enum"]["type"] == "gwtest.Color" and fields["inner"]["number"] == 20 and
          fields["r_inner"]["repeated"] and fields["r_inner"]["type"] == "gwtest.Inner" and
          fields["m_inners"]["type"] == "map" and fields["m_inners"]["map_key"] == "int64" and
          fields["m_inners"]["map_value"] == "gwtest.Inner" and
          not fields["m_inners"]["repeated"] and fields["o_text"].get("oneof") == "choice" and
          "oneof" not in fields["f_string"] and msg["oneofs"] == ["choice"],
          "its fields: types, numbers, json names, repeated, maps, oneofs")
    check([m["name"] for m in out["messages"]] == ["gwtest.Kinds"] and out["enums"] == [],
          "map entries are not messages of their own")
    r = tool("describe", uris["unix"], "gwtest.Kinds")
    check(r.returncode == 0 and "message gwtest.Kinds {\n" in r.stdout and
          "  map<int64, gwtest.Inner> m_inners = 41;\n" in r.stdout and
          "  oneof choice {\n    string o_text = 30;\n" in r.stdout and
          "  repeated gwtest.Color r_enum = 24;\n" in r.stdout,
          "the text form over unix://: %s" % r.stdout[:200])
    r = tool("describe", uris["tcp"], "gwtest.Color")
    check(r.returncode == 0 and r.stdout == ("enum gwtest.Color {\n  COLOR_UNSPECIFIED = 0;\n"
                                             "  RED = 1;\n  GREEN = 2;\n}\n"),
          "an enum's values over tcp://: %r" % r.stdout)
    r = tool("describe", "gwb", "gwtest.GwTest/Count")
    check(r.returncode == 0 and "rpc Count(gwtest.CountRequest) returns (stream "
          "gwtest.CountReply);  // server streaming\n" in r.stdout and
          "message gwtest.CountRequest {\n  int32 n = 1;\n  int32 fail_code = 2;\n}" in r.stdout
          and "message gwtest.CountReply {" in r.stdout,
          "a method with its messages, by bare name: %s" % r.stdout)
    r = tool("describe", "gwb", "grpc.health.v1.HealthCheckResponse", "--json")
    enums = json.loads(r.stdout)["enums"] if r.returncode == 0 else []
    check([e["name"] for e in enums] == ["grpc.health.v1.HealthCheckResponse.ServingStatus"] and
          enums[0]["values"][1] == {"name": "SERVING", "number": 1},
          "a nested enum is described with its message")

    r = tool("describe", "gwb", "gwtest.Nope")
    check(r.returncode == 1 and "gwb does not serve gwtest.Nope" in r.stderr and
          "lazyrpc describe gwb" in r.stderr, "an unknown symbol: %s" % r.stderr.strip())
    r = tool("describe", "greeter")
    check(r.returncode == 1 and "greeter serves no reflection" in r.stderr,
          "a server without reflection: %s" % r.stderr.strip())
    r = tool("describe")
    check(r.returncode == 2 and r.stderr.startswith("usage: lazyrpc describe TARGET"),
          "describe without a target")


def call(uris):
    for name in ("lrpc", "unix", "tcp", "grpc", "grpc+unix"):
        r = tool("call", uris[name], "gwtest.GwTest/Echo", json.dumps(KINDS))
        check(r.returncode == 0 and json.loads(r.stdout) == KINDS,
              "Echo round-trips every field kind over %s (%s)" % (name, r.stderr.strip()))
    r = tool("call", "gwb", "/gwtest.GwTest/Echo", '{"f_string":"x","r_int32":[4]}', "--json")
    check(r.returncode == 0 and r.stdout == '{"fString":"x","rInt32":[4]}\n',
          ".proto field names in, one line out with --json: %r" % r.stdout)
    r = tool("call", "gwb", "gwtest.GwTest.Echo", "-", stdin='{\n "fInt32": 5\n}\n')
    check(r.returncode == 0 and json.loads(r.stdout) == {"fInt32": 5} and
          r.stdout.count("\n") > 1, "the request from stdin, the reply indented")
    r = tool("call", "gwb", "gwtest.GwTest/Echo")
    check(r.returncode == 0 and r.stdout == "{}\n", "no request is the empty one")
    r = tool("call", uris["grpc"], "gwtest.GwTest/WhoAmI", "-H", "x-request-id: r-42", "--json")
    check(r.returncode == 0 and json.loads(r.stdout) == {"requestId": "r-42"},
          "-H sends metadata (%s)" % r.stderr.strip())

    for name in ("lrpc", "tcp", "grpc+unix"):
        r = tool("call", uris[name], "gwtest.GwTest/Count", '{"n":3}')
        check(r.returncode == 0 and r.stdout == '{}\n{"i":1}\n{"i":2}\n',
              "a server stream, one line per reply, over %s: %r %s" % (name, r.stdout,
                                                                         r.stderr.strip()))
    r = tool("call", uris["grpc"], "gwtest.GwTest/Count", '{"n":2,"failCode":10}')
    check(r.returncode == 64 + 10 and r.stdout == '{}\n{"i":1}\n' and
          "ABORTED: failed after 2" in r.stderr,
          "a stream that fails prints what came, then its status: %s" % r.stderr.strip())
    r = tool("call", "gwb", "gwtest.GwTest/Upload", stdin='{"n":1}\n\n{"n":2}\n{"n":39}')
    check(r.returncode == 0 and json.loads(r.stdout) == {"i": 42},
          "a client stream from NDJSON lines (%s)" % r.stderr.strip())
    r = tool("call", uris["unix"], "gwtest.GwTest/Upload", '{"n":7}', "--json")
    check(r.returncode == 0 and r.stdout == '{"i":7}\n', "or its one request as the argument")
    lines = '{"listServices":""}\n{"fileContainingSymbol":"gwtest.Color"}\n'
    r = tool("call", "gwb", "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
             stdin=lines)
    replies = [json.loads(l) for l in r.stdout.splitlines()] if r.returncode == 0 else []
    check(len(replies) == 2 and
          {"name": "gwtest.GwTest"} in replies[0]["listServicesResponse"]["service"] and
          "fileDescriptorResponse" in replies[1],
          "a bidi stream: reflection asked by hand (%s)" % r.stderr.strip())

    r = tool("call", "gwb", "gwtest.GwTest/Fail", '{"code":5,"message":"no such key"}')
    check(r.returncode == 64 + 5 and r.stdout == "" and
          "gwb /gwtest.GwTest/Fail: NOT_FOUND: no such key" in r.stderr,
          "a status: its name and message, exit 64 + code: %s" % r.stderr.strip())
    for name in ("lrpc", "grpc"):
        r = tool("call", uris[name], "gwtest.GwTest/Sleep", '{"ms":20000}', "--deadline", "200")
        check(r.returncode == 64 + 4 and "DEADLINE_EXCEEDED" in r.stderr,
              "a deadline exceeded over %s: %d %s" % (name, r.returncode, r.stderr.strip()))
    # -H on every kind of stream, over every transport: gw_backend adds
    # x-add to every number its streams send.
    for name in ("lrpc", "unix", "tcp", "grpc", "grpc+unix"):
        r = tool("call", uris[name], "gwtest.GwTest/Count", '{"n":2}', "-H", "x-add: 10")
        check(r.returncode == 0 and r.stdout == '{"i":10}\n{"i":11}\n',
              "-H on a server stream over %s: %r %s" % (name, r.stdout, r.stderr.strip()))
        r = tool("call", uris[name], "gwtest.GwTest/Upload", "-H", "x-add:100",
                 stdin='{"n":1}\n{"n":2}\n')
        check(r.returncode == 0 and json.loads(r.stdout) == {"i": 103},
              "-H on a client stream over %s: %r %s" % (name, r.stdout, r.stderr.strip()))
        r = tool("call", uris[name], "gwtest.GwTest/Tally", "-H", "x-add:5", "-H", "x-other:1",
                 "--json", stdin='{"n":1}\n{"n":2}\n')
        check(r.returncode == 0 and r.stdout == '{"i":6}\n{"i":8}\n',
              "-H on a bidi stream over %s: %r %s" % (name, r.stdout, r.stderr.strip()))
    r = tool("call", "gwb", "gwtest.GwTest/Tally", '{"n":4}')
    check(r.returncode == 0 and r.stdout == '{"i":4}\n', "a bidi stream without -H")
    r = tool("call", "gwb", "gwtest.GwTest/Count", '{"n":1}', "-H", "grpc-timeout:1S")
    check(r.returncode == 64 + 3 and "grpc-timeout" in r.stderr,
          "reserved metadata on a stream is refused, naming it: %d %s" %
          (r.returncode, r.stderr.strip()))
    for name in ("unix", "tcp"):
        r = tool("call", uris[name], "gwtest.GwTest/WhoAmI", "-H", "x-request-id:1", "--json")
        check(r.returncode == 0 and json.loads(r.stdout) == {"requestId": "1"},
              "-H over %s too (%s)" % (name, r.stderr.strip()))


def bad_requests():
    r = tool("call", "gwb", "gwtest.GwTest/Echo", '{"fString": ')
    check(r.returncode == 2 and "the request is not JSON: line 1 column" in r.stderr,
          "bad JSON: %s" % r.stderr.strip())
    r = tool("call", "nothere", "gwtest.GwTest/Echo", '{"fString": ')
    check(r.returncode == 2 and "not JSON" in r.stderr, "bad JSON is found before connecting")
    r = tool("call", "gwb", "gwtest.GwTest/Echo", "[1, 2]")
    check(r.returncode == 2 and "the request must be a JSON object (gwtest.Kinds)" in r.stderr,
          "not an object: %s" % r.stderr.strip())
    r = tool("call", "gwb", "gwtest.GwTest/Echo", '{"nope": 1}')
    check(r.returncode == 2 and "does not fit gwtest.Kinds" in r.stderr and "nope" in r.stderr,
          "an unknown field: %s" % r.stderr.strip())
    r = tool("call", "gwb", "gwtest.GwTest/Echo", '{"fInt32": "many"}')
    check(r.returncode == 2 and "f_int32" in r.stderr, "a wrong value: %s" % r.stderr.strip())
    r = tool("call", "gwb", "gwtest.GwTest/Upload", stdin='{"n":1}\n{"n":\n')
    check(r.returncode == 2 and "stdin line 2 is not JSON" in r.stderr,
          "a bad line of a client stream is named: %s" % r.stderr.strip())
    r = tool("call", "gwb", "gwtest.GwTest/Upload", stdin='{"n":1}\n{"m":1}\n')
    check(r.returncode == 2 and "stdin line 2 does not fit gwtest.CountRequest" in r.stderr,
          "and one that does not fit: %s" % r.stderr.strip())
    r = tool("call", "gwb", "gwtest.GwTest/Nope")
    check(r.returncode == 1 and "gwb serves no method gwtest.GwTest/Nope" in r.stderr and
          "lazyrpc describe gwb gwtest.GwTest" in r.stderr,
          "an unknown method: %s" % r.stderr.strip())
    r = tool("call", "gwb", "gwtest.Nope/Echo")
    check(r.returncode == 1 and "gwb does not serve gwtest.Nope" in r.stderr,
          "an unknown service: %s" % r.stderr.strip())
    r = tool("call", "gwb", "Echo")
    check(r.returncode == 2 and "'Echo' is not SERVICE/METHOD" in r.stderr, "not a method name")
    r = tool("call", "nothere", "gwtest.GwTest/Echo")
    check(r.returncode == 1 and "no service 'nothere' listens in" in r.stderr,
          "a missing server: %s" % r.stderr.strip())
    r = tool("call", "gwb")
    check(r.returncode == 2 and r.stderr.startswith("usage: lazyrpc call TARGET"),
          "call without a method")
    r = tool("call", "gwb", "gwtest.GwTest/Echo", "-H", "novalue")
    check(r.returncode == 2 and "-H takes KEY:VALUE" in r.stderr, "a bad -H")


def health(std):
    r = tool("health", "svc")
    check(r.returncode == 0 and r.stdout == "SERVING\n", "the server is SERVING")
    r = tool("health", "lrpc://svc", "lrpcstd.Catalog", "--json")
    check(r.returncode == 0 and json.loads(r.stdout) == {"service": "lrpcstd.Catalog",
                                                         "status": "SERVING"},
          "a service, --json: %s" % r.stdout.strip())
    r = tool("call", "svc", "lrpcstd.Control/SetHealth",
             '{"service":"lrpcstd.Catalog","status":2}')
    check(r.returncode == 0, "Control moves it (%s)" % r.stderr.strip())
    tcp = [l.split()[1] for l in std.banner if l.startswith("listen tcp://")][0]
    r = tool("health", tcp, "lrpcstd.Catalog")
    check(r.returncode == 3 and r.stdout == "NOT_SERVING\n",
          "NOT_SERVING, exit 3, over tcp://: %d %s" % (r.returncode, r.stdout.strip()))
    r = tool("health", "svc", "no.Such")
    check(r.returncode == 64 + 5 and "NOT_FOUND" in r.stderr,
          "an unknown service: %s" % r.stderr.strip())
    r = tool("health", "greeter")
    check(r.returncode == 64 + 12 and "lrpc_server_add_health" in r.stderr,
          "a server without health says so: %s" % r.stderr.strip())
    r = tool("health", "nothere")
    check(r.returncode == 1 and "no service 'nothere'" in r.stderr, "a missing server")
    r = tool("health")
    check(r.returncode == 2 and r.stderr.startswith("usage: lazyrpc health TARGET"),
          "health without a target")


def main():
    with tempfile.TemporaryDirectory(prefix="lazyrpc-call-") as d:
        os.chmod(d, 0o700)
        os.environ["LAZYRPC_DIR"] = d
        procs = []
        try:
            backend = start([BACKEND, "lrpc://gwb", "unix://%s/gwb.sock" % d,
                             "tcp://127.0.0.1:0", "grpc://127.0.0.1:0",
                             "grpc+unix://%s/gwb-grpc.sock" % d], "ready")
            procs.append(backend)
            uris = {u.split("://")[0]: u for u in
                    (l.split()[1] for l in backend.banner if l.startswith("listen "))}
            std = start([STD, "svc"], "ready")
            procs.append(std)
            procs.append(start([GREETER, "lrpc://greeter"], "greeter-server: serving"))
            describe(uris)
            call(uris)
            bad_requests()
            health(std)
        finally:
            for p in procs:
                p.terminate()
                p.wait(WAIT)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
