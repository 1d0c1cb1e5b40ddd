"""What every fake vendor server shares: serving on a free loopback port from a background thread, and a
request handler that answers JSON and reads HTTP Basic credentials (Twilio's API sign-in)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet handler with the two helpers the fakes' routes need."""

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def basic_auth(self) -> tuple[str, str] | None:
        """(user, password) of an HTTP Basic Authorization header, or None without one."""
        scheme, _, value = (self.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode(errors="replace").partition(":")
        return user, password

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        """Answer status with body as JSON."""
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class LoopbackServer:
    """Subclasses name their request handler and the attribute through which it reaches the fake."""

    handler_class: ClassVar[type[BaseHTTPRequestHandler]]
    handler_attribute: ClassVar[str]
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        """Where the fake answers (what the client's base URL setting should be)."""
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        """Serve on a free loopback port in a background thread."""
        handler = type("Handler", (self.handler_class,), {self.handler_attribute: self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
