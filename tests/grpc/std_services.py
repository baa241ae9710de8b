#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gRPC's health and reflection clients, in Python gRPC (Debian's
python3-grpcio), against lazyrpc-std on a lazyrpc grpc:// server.

    std_services.py STD_SERVER PROTOC PROTO_ROOT...

Debian packages neither grpcio-health-checking nor grpcio-reflection, so
the client's message modules are generated here, into a temporary
directory, from the same health.proto and reflection.proto with protoc's
--python_out (what those packages ship is that output), and the methods
are called through the channel as their stubs do. The reflection case
works as grpcurl does: list the services, fetch each one's file by
symbol, follow imports by file name, build a descriptor pool from what
came back, and call a method with message classes made from it.
Exit 0: all passed; 1: a case failed; 77: no grpcio.
"""
import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grpc_peer import need_grpc, start_server  # noqa: E402

grpc = need_grpc()
try:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError:
    print("SKIP: python3-protobuf is not installed")
    sys.exit(77)

FAILED = []
PROTOS = ["grpc/health/v1/health.proto", "grpc/reflection/v1/reflection.proto",
          "grpc/reflection/v1alpha/reflection.proto", "catalog.proto", "kinds.proto"]
ALL_SERVICES = {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection", "lrpcstd.Catalog",
                "lrpcstd.Control", "lazyrpc.stats.v1.Stats"}


def case(fn):
    def run(*a):
        try:
            fn(*a)
            print("PASS", fn.__name__)
        except Exception as e:  # a failed check or an unexpected RpcError
            print("FAIL %s: %r" % (fn.__name__, e))
            FAILED.append(fn.__name__)
    run.__name__ = fn.__name__
    return run


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def generate(protoc, roots, out):
    args = [protoc, "--python_out=" + out] + ["-I" + r for r in roots] + PROTOS
    subprocess.run(args, check=True)
    sys.path.insert(0, out)
    # grpc/health/v1/health_pb2.py would be grpcio's package grpc.health
    # (where grpcio-health-checking puts it): load these by path.
    return {
        "health": load(os.path.join(out, "grpc/health/v1/health_pb2.py"), "lrpc_health_pb2"),
        "v1": load(os.path.join(out, "grpc/reflection/v1/reflection_pb2.py"),
                   "lrpc_reflection_v1_pb2"),
        "v1alpha": load(os.path.join(out, "grpc/reflection/v1alpha/reflection_pb2.py"),
                        "lrpc_reflection_v1alpha_pb2"),
        "catalog": importlib.import_module("catalog_pb2"),
    }


class Clients:
    """What grpcio-health-checking's and grpcio-reflection's stubs do."""

    def __init__(self, ch, m):
        h, c = m["health"], m["catalog"]
        self.m = m
        self.check = ch.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=h.HealthCheckRequest.SerializeToString,
                                    response_deserializer=h.HealthCheckResponse.FromString)
        self.watch = ch.unary_stream("/grpc.health.v1.Health/Watch",
                                     request_serializer=h.HealthCheckRequest.SerializeToString,
                                     response_deserializer=h.HealthCheckResponse.FromString)
        empty = m["catalog"].google_dot_protobuf_dot_empty__pb2.Empty
        self.set_health = ch.unary_unary("/lrpcstd.Control/SetHealth",
                                         request_serializer=c.SetHealthReq.SerializeToString,
                                         response_deserializer=empty.FromString)
        self.watchers = ch.unary_unary("/lrpcstd.Control/Watchers",
                                       request_serializer=empty.SerializeToString,
                                       response_deserializer=c.WatchersReply.FromString)
        self.empty = empty
        self.reflect = {}
        for v in ("v1", "v1alpha"):
            r = m[v]
            self.reflect[v] = ch.stream_stream(
                "/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % v,
                request_serializer=r.ServerReflectionRequest.SerializeToString,
                response_deserializer=r.ServerReflectionResponse.FromString)

    def health_req(self, service):
        return self.m["health"].HealthCheckRequest(service=service)

    def status(self, name):
        return self.m["health"].HealthCheckResponse.ServingStatus.Value(name)

    def n_watchers(self):
        return self.watchers(self.empty(), timeout=10).watchers


@case
def health_check(cl):
    serving = cl.status("SERVING")
    assert cl.check(cl.health_req(""), timeout=10).status == serving
    assert cl.check(cl.health_req("lrpcstd.Catalog"), timeout=10).status == serving
    try:
        cl.check(cl.health_req("lrpcstd.Nothing"), timeout=10)
        raise AssertionError("an unknown service was answered")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e.code()


@case
def health_watch(cl):
    c = cl.m["catalog"]
    w = cl.watch(cl.health_req("lrpcstd.Catalog"), timeout=60)
    assert next(w).status == cl.status("SERVING")
    cl.set_health(c.SetHealthReq(service="lrpcstd.Catalog",
                                 status=cl.status("NOT_SERVING")), timeout=10)
    assert next(w).status == cl.status("NOT_SERVING")
    cl.set_health(c.SetHealthReq(service="lrpcstd.Catalog",
                                 status=cl.status("SERVING")), timeout=10)
    assert next(w).status == cl.status("SERVING")
    u = cl.watch(cl.health_req("lrpcstd.Later"), timeout=60)
    assert next(u).status == cl.status("SERVICE_UNKNOWN")
    assert cl.n_watchers() == 2
    w.cancel()
    u.cancel()
    # The server's handlers end on the cancel: wait for the count (each
    # look is a call; the test's timeout bounds it).
    while cl.n_watchers():
        pass


def ask(cl, version, **req):
    r = cl.m[version]
    rep = list(cl.reflect[version](iter([r.ServerReflectionRequest(host="localhost", **req)]),
                                   timeout=10))
    assert len(rep) == 1, rep
    return rep[0]


def build_pool(cl, version, symbol):
    """A descriptor pool from the file declaring symbol and what it
    imports, fetched as a reflection client does."""
    files = {}
    rep = ask(cl, version, file_containing_symbol=symbol)
    assert rep.WhichOneof("message_response") == "file_descriptor_response", rep
    todo = []
    for b in rep.file_descriptor_response.file_descriptor_proto:
        fd = descriptor_pb2.FileDescriptorProto.FromString(b)
        files[fd.name] = fd
        todo += list(fd.dependency)
    while todo:  # imports the response left out, by name
        name = todo.pop()
        if name in files:
            continue
        rep = ask(cl, version, file_by_filename=name)
        assert rep.WhichOneof("message_response") == "file_descriptor_response", rep
        for b in rep.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto.FromString(b)
            files[fd.name] = fd
            todo += list(fd.dependency)
    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(name):
        if name in added:
            return
        for dep in files[name].dependency:
            add(dep)
        pool.Add(files[name])
        added.add(name)
    for name in files:
        add(name)
    return pool, files


def message_class(pool, name):
    desc = pool.FindMessageTypeByName(name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def reflection(cl, version, ch):
    rep = ask(cl, version, list_services="")
    names = {s.name for s in rep.list_services_response.service}
    assert names == ALL_SERVICES, names
    assert rep.valid_host == "localhost"
    assert rep.original_request.WhichOneof("message_request") == "list_services"
    # Every service's file, with its imports, makes a consistent pool.
    for svc in sorted(names):
        pool, _ = build_pool(cl, version, svc)
        assert pool.FindServiceByName(svc).full_name == svc
    pool, files = build_pool(cl, version, "lrpcstd.Catalog")
    assert set(files) == {"catalog.proto", "kinds.proto", "google/protobuf/empty.proto",
                          "google/protobuf/descriptor.proto"}, files
    lookup = pool.FindServiceByName("lrpcstd.Catalog").methods_by_name["Lookup"]
    assert lookup.input_type.full_name == "lrpcstd.Item.Key"
    assert lookup.output_type.full_name == "lrpcstd.Item"
    stamp = pool.FindMessageTypeByName("lrpcstd.Stamp")
    assert stamp.fields_by_name["none"].message_type.full_name == "google.protobuf.Empty"
    assert pool.FindEnumTypeByName("lrpcstd.Item.Shelf").values_by_name["TOP"].number == 1
    ext = pool.FindExtensionByName("lrpcstd.shelf_label")
    assert ext.containing_type.full_name == "google.protobuf.MessageOptions", ext
    rep = ask(cl, version, file_containing_extension=cl.m[version].ExtensionRequest(
        containing_type="google.protobuf.MessageOptions", extension_number=50001))
    first = descriptor_pb2.FileDescriptorProto.FromString(
        rep.file_descriptor_response.file_descriptor_proto[0])
    assert first.name == "kinds.proto", first.name
    rep = ask(cl, version, all_extension_numbers_of_type="google.protobuf.MessageOptions")
    assert list(rep.all_extension_numbers_response.extension_number) == [50001], rep
    # Messages made from the served descriptors call the service.
    key_cls = message_class(pool, "lrpcstd.Item.Key")
    item_cls = message_class(pool, "lrpcstd.Item")
    call = ch.unary_unary("/lrpcstd.Catalog/Lookup",
                          request_serializer=key_cls.SerializeToString,
                          response_deserializer=item_cls.FromString)
    item = call(key_cls(id="ada"), timeout=10)
    assert item.key.id == "ada" and item.kind == pool.FindEnumTypeByName(
        "lrpcstd.Kind").values_by_name["BOOK"].number, item
    # By symbol: a method, a nested message, a field and an enum value (as
    # protobuf names them); not found is an answer.
    for sym in ("lrpcstd.Catalog.Lookup", "lrpcstd.Item.Key", "lrpcstd.Item.shelf",
                "lrpcstd.Item.TOP"):
        rep = ask(cl, version, file_containing_symbol=sym)
        first = descriptor_pb2.FileDescriptorProto.FromString(
            rep.file_descriptor_response.file_descriptor_proto[0])
        assert first.name == "catalog.proto", (sym, first.name)
    rep = ask(cl, version, file_containing_symbol="lrpcstd.Nothing")
    assert rep.WhichOneof("message_response") == "error_response", rep
    assert rep.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


@case
def reflection_v1(cl, ch):
    reflection(cl, "v1", ch)


@case
def reflection_v1alpha(cl, ch):
    reflection(cl, "v1alpha", ch)


@case
def reflection_stream_goes_on(cl):
    # Several requests on one stream, an error among them.
    r = cl.m["v1"]
    reqs = [r.ServerReflectionRequest(file_by_filename="nothing.proto"),
            r.ServerReflectionRequest(file_by_filename="kinds.proto"),
            r.ServerReflectionRequest(list_services="")]
    reps = list(cl.reflect["v1"](iter(reqs), timeout=10))
    assert [x.WhichOneof("message_response") for x in reps] == [
        "error_response", "file_descriptor_response", "list_services_response"], reps


def watch_ends_at_stop(server, cl):
    """A Watch without deadline must not hold up the server's stop, and
    sees NOT_SERVING before its end, as gRPC's own servers send."""
    w = cl.watch(cl.health_req(""))
    assert next(w).status == cl.status("SERVING")
    server.send_signal(signal.SIGTERM)
    assert next(w).status == cl.status("NOT_SERVING")
    try:
        next(w)
        raise AssertionError("the watch went on after the stop")
    except grpc.RpcError as e:
        assert e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), e.code()
    assert server.wait(30) == 0, "std_server exit status"


def main():
    if len(sys.argv) < 4:
        print("usage: std_services.py STD_SERVER PROTOC PROTO_ROOT...")
        return 2
    std_server, protoc, roots = sys.argv[1], sys.argv[2], sys.argv[3:]
    tmp = tempfile.mkdtemp(prefix="lrpc-std-py-")
    mods = generate(protoc, roots, tmp)
    env = dict(os.environ)
    env.setdefault("LAZYRPC_DIR", tmp)
    server, target = start_server([std_server, "std-py-%d" % os.getpid()], env)
    if not target:
        print("FAIL: std_server did not listen on grpc://")
        return 1
    ch = grpc.insecure_channel(target)
    grpc.channel_ready_future(ch).result(timeout=10)
    cl = Clients(ch, mods)
    health_check(cl)
    health_watch(cl)
    reflection_v1(cl, ch)
    reflection_v1alpha(cl, ch)
    reflection_stream_goes_on(cl)
    try:
        watch_ends_at_stop(server, cl)
        print("PASS watch_ends_at_stop")
    except Exception as e:
        print("FAIL watch_ends_at_stop: %r" % e)
        FAILED.append("watch_ends_at_stop")
        server.kill()
    server.wait()
    ch.close()
    if FAILED:
        print("failed:", " ".join(FAILED))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
