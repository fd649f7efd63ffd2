#!/usr/bin/env python3
"""grpc_mtls.py - mutual-TLS check of an otel-pki certificate set with gRPC's
C core (the grpcio wheel bundles gRPC core + BoringSSL: the same stack as the
OTLP/gRPC exporters of the Python, C++, Ruby and PHP SDKs).

Usage:
  grpc_mtls.py DIR [--mode both|server|client] [--host NAME] [--port N]
               [--ca F] [--server-cert F] [--server-key F]
               [--client-cert F] [--client-key F] [--no-client-cert]
               [--timeout SECONDS]

Modes:
  both    gRPC server + gRPC client in one process on 127.0.0.1 (ephemeral port),
          one unary call /otelpki.interop.Echo/Ping (b"ping" -> b"pong").
  server  server only on 127.0.0.1:PORT (0 = ephemeral); prints
          "LISTENING 127.0.0.1:<port>", exits 0 after serving one call, or 1 if
          no call arrived within the timeout (a failed handshake is invisible to
          a gRPC server; the client's verdict is the authoritative one).
  client  client only, dials 127.0.0.1:PORT (--port required).

The server uses grpc.ssl_server_credentials(..., root_certificates=ca.crt,
require_client_auth=True); the client grpc.ssl_channel_credentials(ca.crt,
client.key, client.crt) and grpc.ssl_target_name_override=HOST (default
localhost) so the connection goes to 127.0.0.1 while the server certificate is
checked against HOST.

Exit status: 0 call succeeded; 1 handshake/verification/RPC failure (one line
"FAIL ..." on stderr, with gRPC core's own handshake error appended after
"; core:" - the only place the server side's reason shows); 2 usage/setup
error, no TLS verdict (bad flags, unreadable files, cannot listen, connection
refused; one line "USAGE ..." on stderr). Negative tests should assert == 1.
No protobuf code generation is needed (generic handler, bytes in and out).
"""

import argparse
import os
import sys
import threading
import time

# gRPC core logs the TLS handshake error (the only place the SERVER side's reason
# appears, e.g. "unsupported certificate purpose") at DEBUG level with the "tsi"
# tracer, straight to file descriptor 2. Unless the caller set GRPC_VERBOSITY
# themselves, we enable that, send fd 2 to a temp file, and append the core's
# "Handshake failed ..." lines to our single FAIL line.
ERR = sys.stderr
CORE_LOG = None
if "GRPC_VERBOSITY" not in os.environ:
    import tempfile
    os.environ["GRPC_VERBOSITY"] = "DEBUG"
    os.environ["GRPC_TRACE"] = "tsi"
    CORE_LOG = tempfile.TemporaryFile()
    ERR = os.fdopen(os.dup(2), "w")
    os.dup2(CORE_LOG.fileno(), 2)
    sys.stderr = ERR


def core_errors():
    """'Handshake failed with error ...' lines gRPC core logged (deduplicated)."""
    if CORE_LOG is None:
        return ""
    CORE_LOG.seek(0)
    seen = []
    for line in CORE_LOG.read().decode(errors="replace").splitlines():
        i = line.find("Handshake failed with error ")
        if i >= 0:
            msg = line[i + len("Handshake failed with error "):].strip()
            if msg not in seen:
                seen.append(msg)
    return ("; core: " + " | ".join(seen)) if seen else ""


def fail(msg):
    time.sleep(0.1)  # let the core finish logging the peer's handshake error
    print(f"FAIL {one_line(msg)}{core_errors()}", file=ERR)
    return 1

METHOD = "/otelpki.interop.Echo/Ping"


class UsageError(Exception):
    pass


def one_line(s):
    return " ".join(str(s).split())


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"reading {path}: {e}")


def start_server(a, port, served):
    import grpc
    from concurrent import futures

    def ping(request, context):
        # peer_identities(): SAN/CN of the verified client certificate
        ids = context.peer_identities() or []
        served.append((request, [i.decode(errors="replace") for i in ids]))
        threading.Thread(target=served_event.set, daemon=True).start()
        return b"pong" if request == b"ping" else b"unexpected request"

    creds = grpc.ssl_server_credentials(
        [(read(a.server_key), read(a.server_cert))],
        root_certificates=read(a.ca),
        require_client_auth=True,
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.method_handlers_generic_handler(
        "otelpki.interop.Echo",
        {"Ping": grpc.unary_unary_rpc_method_handler(ping)},  # no (de)serializers: bytes
    )
    server.add_generic_rpc_handlers((handler,))
    try:
        bound = server.add_secure_port(f"127.0.0.1:{port}", creds)
    except RuntimeError as e:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {e}")
    if bound == 0:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}")
    server.start()
    return server, bound


served_event = threading.Event()


def call(a, port):
    import grpc

    if a.no_client_cert:
        creds = grpc.ssl_channel_credentials(root_certificates=read(a.ca))
    else:
        creds = grpc.ssl_channel_credentials(
            root_certificates=read(a.ca),
            private_key=read(a.client_key),
            certificate_chain=read(a.client_cert),
        )
    opts = [("grpc.ssl_target_name_override", a.host)]
    with grpc.secure_channel(f"127.0.0.1:{port}", creds, options=opts) as ch:
        stub = ch.unary_unary(METHOD)  # no serializers: bytes in, bytes out
        try:
            resp = stub(b"ping", timeout=a.timeout, wait_for_ready=False)
        except grpc.RpcError as e:
            code = e.code().name if hasattr(e, "code") and e.code() else "?"
            details = e.details() if hasattr(e, "details") else str(e)
            if "Connection refused" in (details or ""):
                raise UsageError(f"no peer listening on 127.0.0.1:{port}: {details}")
            return None, f"{code}: {details}"
    if resp != b"pong":
        return None, f"unexpected response {resp!r}"
    return resp, None


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir", nargs="?", help="directory with ca.crt server.{crt,key} client.{crt,key}")
    p.add_argument("--mode", default="both", choices=["both", "server", "client"])
    p.add_argument("--host", default="localhost", help="name the client checks the server certificate against")
    p.add_argument("--port", type=int, default=0)
    for f in ("ca", "server-cert", "server-key", "client-cert", "client-key"):
        p.add_argument(f"--{f}")
    p.add_argument("--no-client-cert", action="store_true", help="client presents no certificate (negative test)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds, at most 10")
    try:
        a = p.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    a.timeout = min(max(a.timeout, 0.1), 10.0)
    defaults = {"ca": "ca.crt", "server_cert": "server.crt", "server_key": "server.key",
                "client_cert": "client.crt", "client_key": "client.key"}
    for k, v in defaults.items():
        if getattr(a, k) is None and a.dir:
            setattr(a, k, os.path.join(a.dir, v))
    need = ["ca"]
    if a.mode != "client":
        need += ["server_cert", "server_key"]
    if a.mode != "server" and not a.no_client_cert:
        need += ["client_cert", "client_key"]
    for k in need:
        if not getattr(a, k):
            raise UsageError(f"--{k.replace('_', '-')} not set and no DIR given")
        read(getattr(a, k))  # fail early with exit 2 when unreadable

    import grpc  # noqa: F401  (import late: --help works without grpcio)

    served = []
    if a.mode == "client":
        if a.port <= 0:
            raise UsageError("--mode client needs --port N")
        _, err = call(a, a.port)
        if err:
            return fail(f"client: {err}")
        print(f"OK mode=client grpc={grpc.__version__} host={a.host}")
        return 0

    server, port = start_server(a, a.port, served)
    try:
        if a.mode == "server":
            print(f"LISTENING 127.0.0.1:{port}", flush=True)
            if not served_event.wait(a.timeout):
                return fail(f"server: no RPC received within {a.timeout:g}s "
                            "(client handshake rejected, or no client)")
            time.sleep(0.2)  # let the response go out before stopping
            print(f"OK mode=server grpc={grpc.__version__} peer={served[0][1]}")
            return 0
        _, err = call(a, port)
        if err:
            return fail(f"client: {err}")
        print(f"OK mode=both grpc={grpc.__version__} host={a.host} client-identity={served[0][1] if served else '?'}")
        return 0
    finally:
        server.stop(0).wait(5)


if __name__ == "__main__":
    try:
        rc = main(sys.argv[1:])
    except UsageError as e:
        print(f"USAGE {one_line(e)}", file=ERR)
        rc = 2
    except ImportError as e:
        print(f"USAGE {one_line(e)} (pip install grpcio)", file=ERR)
        rc = 2
    sys.stdout.flush()
    ERR.flush()
    os._exit(rc)  # do not wait for gRPC's non-daemon threads
