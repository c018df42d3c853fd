"""A TLS front for the suite's Temporal dev server, as Temporal Cloud or a production cluster stands before the
product: nginx's gRPC proxy (Debian's nginx) with a CA and certificates made by trustme.

- `mutual_tls`: TLS that requires a client certificate signed by the test CA, as a self-hosted cluster's mTLS does;
- `api_key`: TLS, and the key in the `authorization: Bearer <key>` header, as Temporal Cloud takes it; a wrong or
  missing key is answered as Temporal Cloud answers it, gRPC status 16 (UNAUTHENTICATED).

    with temporal_front(folder, "127.0.0.1:7233") as front: front.mutual_tls, front.environment("api_key")
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from referrals.devstack import front_door
from referrals.devstack.procs import free_port

API_KEY = "test-api-key-" + "7" * 24


@dataclass(frozen=True)
class Front:
    folder: Path
    mutual_tls: int  # port
    api_key: int  # port

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    def client(self, name: str) -> tuple[Path, Path]:
        """A client certificate and key: "trusted" (signed by the front's CA) or "intruder" (another CA's)."""
        return self.folder / f"{name}.pem", self.folder / f"{name}.key"

    def environment(self, kind: str, **more: str) -> dict[str, str]:
        """Temporal's environment configuration for reaching the dev server through this front: `kind` is "mutual_tls"
        (with the trusted client certificate unless `more` says otherwise) or "api_key" (with the right key unless...)."""
        if kind == "mutual_tls":
            cert, key = self.client("trusted")
            found = {
                "TEMPORAL_ADDRESS": f"localhost:{self.mutual_tls}",
                "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
                "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
            }
        else:
            found = {"TEMPORAL_ADDRESS": f"localhost:{self.api_key}", "TEMPORAL_API_KEY": API_KEY}
        found["TEMPORAL_TLS_SERVER_CA_CERT_PATH"] = str(self.ca)
        return {name: value for name, value in {**found, **more}.items() if value}

    def requests(self) -> list[str]:
        """The access log's lines: `<port> <client certificate: SUCCESS, NONE...> <authorization: yes|no> <uri> <status>`."""
        log = self.folder / "access.log"
        return log.read_text().splitlines() if log.exists() else []


def _certificates(folder: Path) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    ca.issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    trusted = ca.issue_cert("incident-referrals")
    trusted.cert_chain_pems[0].write_to_path(str(folder / "trusted.pem"))
    trusted.private_key_pem.write_to_path(str(folder / "trusted.key"))
    intruder = trustme.CA().issue_cert("incident-referrals")  # the same name, from a CA the front does not trust
    intruder.cert_chain_pems[0].write_to_path(str(folder / "intruder.pem"))
    intruder.private_key_pem.write_to_path(str(folder / "intruder.key"))


def _conf(folder: Path, upstream: str, mutual_tls: int, api_key: int) -> str:
    tls = f"""
        ssl_certificate {folder}/server.pem;
        ssl_certificate_key {folder}/server.pem;
        grpc_read_timeout 120s;"""
    return f"""
{"user root;" if os.geteuid() == 0 else ""}
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{}}
http {{
    log_format front '$server_port $ssl_client_verify $http_authorization_present $uri $status';
    map $http_authorization $http_authorization_present {{ "" no; default yes; }}
    access_log {folder}/access.log front;
    client_body_temp_path {folder}/body;
    server {{
        listen 127.0.0.1:{mutual_tls} ssl http2;{tls}
        ssl_client_certificate {folder}/ca.pem;
        ssl_verify_client on;
        location / {{ grpc_pass grpc://{upstream}; }}
    }}
    server {{
        listen 127.0.0.1:{api_key} ssl http2;{tls}
        location / {{
            error_page 418 = @unauthenticated;
            if ($http_authorization != "Bearer {API_KEY}") {{ return 418; }}
            grpc_pass grpc://{upstream};
        }}
        location @unauthenticated {{
            default_type application/grpc;
            add_header grpc-status 16 always;
            add_header grpc-message "Request unauthorized" always;
            return 200;
        }}
    }}
}}
"""


@contextmanager
def temporal_front(folder: Path, upstream: str) -> Iterator[Front]:
    folder.chmod(0o755)
    _certificates(folder)
    front = Front(folder, free_port(), free_port())
    conf = folder / "nginx.conf"
    conf.write_text(_conf(folder, upstream, front.mutual_tls, front.api_key))
    proc = front_door.start(folder, conf)
    try:
        for port in (front.mutual_tls, front.api_key):
            deadline = time.monotonic() + 10
            while True:
                assert proc.poll() is None, (folder / "error.log").read_text()
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"nginx does not listen on {port}"
                    time.sleep(0.05)
        yield front
    finally:
        proc.terminate()
        proc.wait(10)
