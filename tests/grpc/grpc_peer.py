# SPDX-License-Identifier: MIT
"""What the grpc:// test scripts share: finding Python gRPC and starting a
lazyrpc server that prints "listen URI" lines, then "ready"."""
import os
import subprocess
import sys


def need_grpc():
    """The grpc module; else rerun under Debian's python3, where
    python3-grpcio lives, or exit 77 (SKIP)."""
    try:
        import grpc
        return grpc
    except ImportError:
        if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
        print("SKIP: python3-grpcio is not installed")
        sys.exit(77)


def make_certs(d):
    """A CA, a server certificate it signs for localhost and 127.0.0.1,
    and a client certificate, with openssl, into directory d. \\return
    their paths: {"ca", "cert", "key", "client_cert", "client_key"}."""
    p = {k: os.path.join(d, k + ".pem") for k in
         ("ca", "ca_key", "cert", "key", "client_cert", "client_key")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    run("req", "-x509", *ec, "-keyout", p["ca_key"], "-out", p["ca"], "-days", "2",
        "-subj", "/CN=lazyrpc test CA")
    for who, name, ext in (("", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
                           ("client_", "lazyrpc test client", "extendedKeyUsage=clientAuth")):
        csr = os.path.join(d, who + "req.pem")
        extfile = os.path.join(d, who + "ext.cnf")
        with open(extfile, "w") as f:
            f.write(ext + "\n")
        run("req", *ec, "-keyout", p[who + "key"], "-out", csr, "-subj", "/CN=" + name)
        run("x509", "-req", "-in", csr, "-CA", p["ca"], "-CAkey", p["ca_key"],
            "-CAcreateserial", "-out", p[who + "cert"], "-days", "2", "-extfile", extfile)
    return p


def start_server(argv, env):
    """Start argv and read its output up to "ready". \\return the process
    and the HOST:PORT of its grpc:// or grpcs:// listener (None if it has
    none: the process is then killed)."""
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, text=True)
    target = None
    for line in server.stdout:
        if line.startswith("listen grpc://") or line.startswith("listen grpcs://"):
            target = line.split("://", 1)[1].strip()
        if line.strip() == "ready":
            break
    if not target:
        server.kill()
        server.wait()
    return server, target
