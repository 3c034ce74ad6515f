"""Clients that time single requests: a keep-alive connection to a server on loopback, and
`timed_get`/`timed_post` over anything that sends a request and reads the whole answer."""

import http.client
import time
from typing import Protocol
from urllib.parse import urlsplit


class Requester(Protocol):
    """Sends one request and returns (status, whole body)."""

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request and read the whole answer."""
        ...


class KeepAliveClient:
    """A persistent HTTP/1.1 connection with the standard library's http.client.

    Used for latency figures: it reads a response body in large `recv_into` calls, where
    httpx's pure-Python h11 path spends ~45 ms just receiving a 19 MB JSON body (urllib: ~9 ms,
    measured side by side). Latency is then the server's, not the client's parser's.
    """

    def __init__(self, url: str, timeout: float = 300.0) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=timeout
        )

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request (a body as JSON) and read the whole answer."""
        headers = {"content-type": "application/json"} if body is not None else {}
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle connection (uvicorn's keep-alive timeout is 5 s, and
            # a slow peer run in between can outlast it): reconnect once, as pools do.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        return response.status, response.read()

    def get(self, path: str) -> tuple[int, bytes]:
        """GET `path`."""
        return self.request("GET", path)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def timed_post(client: Requester, path: str, body: bytes) -> float:
    """POST `body` and read the whole answer; return ms; raise on a non-200."""
    start = time.perf_counter()
    status, data = client.request("POST", path, body)
    elapsed = (time.perf_counter() - start) * 1e3
    if status != 200:
        raise RuntimeError(f"POST {path} -> {status}: {data[:500]!r}")
    return elapsed


def timed_get(client: Requester, path: str) -> float:
    """GET `path` and read the whole answer; return ms; raise on a non-200."""
    start = time.perf_counter()
    status, data = client.request("GET", path)
    elapsed = (time.perf_counter() - start) * 1e3
    if status != 200:
        raise RuntimeError(f"GET {path} -> {status}: {data[:500]!r}")
    return elapsed
