"""Faults between S3 clients and a test's S3 server: a loopback HTTP proxy that forwards every request to
the server, except the ones a test scripts a fault for. Point AWS_ENDPOINT_URL (or a client) at `url`.

Faults (:data:`SLOW_DOWN`, :data:`CUT`) are given for a number of matching requests, or for all of them:
`SLOW_DOWN` answers 503 with S3's `SlowDown` error (its throttling), `CUT` forwards the request and sends
the response's headers and half its body, then resets the connection (a connection reset mid-object).
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

#: 503 SlowDown, as S3 throttles a prefix.
SLOW_DOWN = "slow-down"
#: Headers and half the body, then a TCP reset.
CUT = "cut"
#: Seconds the proxy waits for the server it forwards to.
UPSTREAM_TIMEOUT = 15.0
_SLOW_DOWN_BODY = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                   b"<Message>Please reduce your request rate.</Message></Error>")
#: Hop-by-hop headers the proxy does not pass on.
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}

#: (HTTP method, path, query string) -> whether a fault applies to this request.
Match = Callable[[str, str, str], bool]


def object_gets(method: str, path: str, query: str) -> bool:
    """GETs of objects (not listings)."""
    return method == "GET" and "list-type=2" not in query and path.strip("/").count("/") >= 1


def listings(method: str, path: str, query: str) -> bool:
    return method == "GET" and "list-type=2" in query


class FaultProxy:
    """The proxy, serving in a thread of the test process until :meth:`stop`."""

    def __init__(self, upstream: str):
        self._upstream = urlsplit(upstream)
        self._lock = threading.Lock()
        self._faults: list[list] = []  # [fault, match, requests left (None: every one)]
        self.served: dict[str, int] = {SLOW_DOWN: 0, CUT: 0}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="s3-faults", daemon=True)
        self._thread.start()

    def inject(self, fault: str, times: int | None = None, match: Match = object_gets) -> None:
        """Answer the next `times` requests that `match` (every one if None) with `fault`."""
        with self._lock:
            self._faults.append([fault, match, times])

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _fault_for(self, method: str, path: str, query: str) -> str | None:
        with self._lock:
            for entry in self._faults:
                fault, match, left = entry
                if (left is None or left > 0) and match(method, path, query):
                    if left is not None:
                        entry[2] = left - 1
                    self.served[fault] += 1
                    return fault
        return None

    def _forward(self, method: str, target: str, headers, body: bytes):
        connection = http.client.HTTPConnection(self._upstream.hostname, self._upstream.port,
                                                timeout=UPSTREAM_TIMEOUT)
        try:
            connection.request(method, target, body=body or None, headers=dict(headers))
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                fault = proxy._fault_for(self.command, path, query)
                if fault == SLOW_DOWN:
                    self._reply(503, [("Content-Type", "application/xml")], _SLOW_DOWN_BODY)
                    return
                status, headers, data = proxy._forward(self.command, self.path, self.headers, body)
                if fault == CUT:
                    self._reply(status, headers, data[: len(data) // 2], length=len(data))
                    # SO_LINGER 0: close() sends a reset, as a dropped connection mid-object does
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                self._reply(status, headers, data)

            def _reply(self, status: int, headers, data: bytes, length: int | None = None) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in _HOP_HEADERS and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data) if length is None else length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                    self.wfile.flush()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

            def log_message(self, *args) -> None:  # quiet: the S3 server logs every request
                pass

        return Handler

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=UPSTREAM_TIMEOUT)
