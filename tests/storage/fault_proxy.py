"""A fault-injecting HTTP proxy on 127.0.0.1, for the object-store retry tests.

``FaultProxy(upstream_port)`` listens on a free port of 127.0.0.1 and forwards each
HTTP/1.1 request (keep-alive connections included) to the upstream server (the moto
S3 server) - or, for the next requests a test arms, injects a fault instead:

- ``fail(n, status=503, code="SlowDown")``: answer with an S3 error document
  (``<Error><Code>...``) and that status, without forwarding;
- ``reset(n)``: read the request, then close the connection with a TCP reset
  (``SO_LINGER`` 0), nothing answered;
- ``delay(n, seconds)``: wait, then forward (with a short client read timeout this
  becomes a timeout).

Faults apply to requests whose method is in ``methods`` (all when None) and count
down; ``stats`` counts requests seen (in all and per method), forwarded and faulted. Everything runs in
daemon threads of the test process; :meth:`stop` closes the listening socket and
every connection it opened. Loopback only.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass

__all__ = ["FaultProxy"]


@dataclass
class _Fault:
    kind: str  # 'fail', 'reset' or 'delay'
    remaining: int
    status: int = 503
    code: str = "SlowDown"
    seconds: float = 0.0
    methods: frozenset[str] | None = None


_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class _Conn:
    """Buffered reads of HTTP messages from a socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def read_head(self) -> bytes | None:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("connection closed inside a message body")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("connection closed inside a chunked body")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def read_body(self, headers: dict[str, str], no_body: bool) -> bytes:
        if no_body:
            return b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            out = b""
            while True:
                line = self.read_line()
                out += line
                size = int(line.split(b";")[0].strip(), 16)
                out += self.read_exact(size + 2)
                if size == 0:
                    return out
        return self.read_exact(int(headers.get("content-length", "0")))


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    out = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return lines[0], out


class FaultProxy:
    """See the module docstring."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the proxy."""
        return f"http://127.0.0.1:{self.port}"

    # --- arming faults -----------------------------------------------------------------

    def _arm(self, fault: _Fault) -> FaultProxy:
        with self._lock:
            self._faults.append(fault)
        return self

    def fail(self, n: int, status: int = 503, code: str = "SlowDown", methods: set[str] | None = None) -> FaultProxy:
        """Answer the next ``n`` requests with an S3 error ``code`` and HTTP ``status``."""
        return self._arm(_Fault("fail", n, status=status, code=code, methods=_methods(methods)))

    def reset(self, n: int, methods: set[str] | None = None) -> FaultProxy:
        """Reset the connection of the next ``n`` requests (after reading them)."""
        return self._arm(_Fault("reset", n, methods=_methods(methods)))

    def delay(self, n: int, seconds: float, methods: set[str] | None = None) -> FaultProxy:
        """Forward the next ``n`` requests after ``seconds``."""
        return self._arm(_Fault("delay", n, seconds=seconds, methods=_methods(methods)))

    def clear(self) -> None:
        """Drop every armed fault."""
        with self._lock:
            self._faults.clear()

    @property
    def armed(self) -> int:
        """Faults still to inject."""
        with self._lock:
            return sum(f.remaining for f in self._faults)

    def _take(self, method: str) -> _Fault | None:
        with self._lock:
            self.stats["requests"] += 1
            self.stats[method] += 1
            for fault in self._faults:
                if fault.remaining > 0 and (fault.methods is None or method in fault.methods):
                    fault.remaining -= 1
                    self.stats[fault.kind] += 1
                    return fault
            return None

    # --- serving -----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._open.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        up: socket.socket | None = None
        up_conn: _Conn | None = None
        conn = _Conn(client)
        try:
            while True:
                head = conn.read_head()
                if head is None:
                    return
                request_line, headers = _headers(head)
                method = request_line.split(" ", 1)[0]
                if headers.get("expect", "").lower() == "100-continue":  # answered here, not forwarded
                    client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    head = b"".join(line + b"\r\n" for line in head[:-4].split(b"\r\n")
                                    if not line.lower().startswith(b"expect:")) + b"\r\n"
                body = conn.read_body(headers, no_body=False)
                fault = self._take(method)
                if fault is not None and fault.kind == "reset":
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if fault is not None and fault.kind == "fail":
                    client.sendall(_error_response(fault.status, fault.code, head_only=method == "HEAD"))
                    continue
                if fault is not None and fault.kind == "delay":
                    time.sleep(fault.seconds)
                if up is None:
                    up = socket.create_connection(self.upstream)
                    with self._lock:
                        self._open.add(up)
                    up_conn = _Conn(up)
                up.sendall(head + body)
                assert up_conn is not None
                rhead = up_conn.read_head()
                if rhead is None:
                    return
                status_line, rheaders = _headers(rhead)
                status = int(status_line.split(" ")[1])
                rbody = up_conn.read_body(rheaders, no_body=method == "HEAD" or status in (204, 304))
                client.sendall(rhead + rbody)
                self.stats["forwarded"] += 1
                if rheaders.get("connection", "").lower() == "close" or status_line.startswith("HTTP/1.0"):
                    up.close()
                    up = up_conn = None
        except (OSError, ValueError):
            return
        finally:
            for s in (client, up):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def stop(self) -> None:
        """Close the listening socket and every connection this proxy opened."""
        self._stopped = True
        self._sock.close()
        with self._lock:
            for s in list(self._open):
                try:
                    s.close()
                except OSError:
                    pass
            self._open.clear()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _methods(methods: set[str] | None) -> frozenset[str] | None:
    return None if methods is None else frozenset(m.upper() for m in methods)


def _error_response(status: int, code: str, head_only: bool = False) -> bytes:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>injected by the test proxy</Message><RequestId>fault</RequestId></Error>").encode()
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\nx-amz-request-id: fault\r\n\r\n").encode()
    return head if head_only else head + body
