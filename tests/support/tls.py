"""TLS for integration tests: a throwaway CA and server certificate made with the openssl CLI, and a
redis-server that speaks only TLS (plain port closed) on a free loopback port."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from urllib.parse import quote

from worker.redis_server import RedisServer, TlsFiles

#: Days the test certificates stay valid (they live as long as one test's tmp_path).
CERT_DAYS = 2
#: Small, fast keys: EC P-256 takes milliseconds where RSA-2048 takes up to a second.
KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
#: Names the server certificate is valid for: clients connect to 127.0.0.1 and check it.
SERVER_NAMES = "IP:127.0.0.1,DNS:localhost"
#: Seconds any openssl command gets.
OPENSSL_TIMEOUT = 30


@dataclasses.dataclass(frozen=True)
class CertificateAuthority:
    """A self-signed CA: its certificate (what clients trust) and private key (what signs servers)."""

    cert: str
    key: str


@dataclasses.dataclass(frozen=True)
class ServerCert:
    cert: str
    key: str
    ca: CertificateAuthority


def _openssl(*args: str) -> None:
    binary = shutil.which("openssl")
    assert binary, "the openssl command is needed to make test certificates (apt-get install openssl)"
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=OPENSSL_TIMEOUT)
    assert done.returncode == 0, f"openssl {args[0]} failed: {done.stderr}"


def make_ca(folder: str, name: str) -> CertificateAuthority:
    """A new self-signed CA in `folder` (files <name>.pem and <name>.key)."""
    os.makedirs(folder, exist_ok=True)
    ca = CertificateAuthority(os.path.join(folder, f"{name}.pem"), os.path.join(folder, f"{name}.key"))
    _openssl("req", "-x509", *KEY_ARGS, "-keyout", ca.key, "-out", ca.cert, "-days", str(CERT_DAYS),
             "-subj", f"/CN=hashfleet test CA {name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return ca


def make_server_cert(folder: str, ca: CertificateAuthority, name: str = "server") -> ServerCert:
    """A certificate for 127.0.0.1/localhost signed by `ca`."""
    server = ServerCert(os.path.join(folder, f"{name}.pem"), os.path.join(folder, f"{name}.key"), ca)
    _openssl("req", "-x509", "-CA", ca.cert, "-CAkey", ca.key, *KEY_ARGS, "-keyout", server.key,
             "-out", server.cert, "-days", str(CERT_DAYS), "-subj", "/CN=127.0.0.1",
             "-addext", f"subjectAltName={SERVER_NAMES}",
             "-addext", "basicConstraints=critical,CA:FALSE",
             "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
             "-addext", "extendedKeyUsage=serverAuth")
    return server


def rediss_url(port: int, password: str, ca_cert: str | None, cert_reqs: str | None = "required") -> str:
    """A rediss:// URL for 127.0.0.1:`port` trusting `ca_cert` (None: the system's CAs)."""
    query = []
    if cert_reqs:
        query.append(f"ssl_cert_reqs={cert_reqs}")
    if ca_cert:
        query.append(f"ssl_ca_certs={quote(ca_cert, safe='/')}")
    return f"rediss://:{password}@127.0.0.1:{port}/0" + ("?" + "&".join(query) if query else "")


def tls_redis_server(workdir: str, server: ServerCert, password: str) -> RedisServer:
    """redis-server speaking nothing but TLS (plain port closed), with a password, clients not asked for
    certificates; its `url` trusts the CA that signed `server`, certificate checked."""
    return RedisServer(workdir, password=password, tls=TlsFiles(server.cert, server.key, server.ca.cert))
