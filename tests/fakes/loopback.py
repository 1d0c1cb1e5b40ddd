"""The part every fake vendor server shares: serving on a free loopback port from a background thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar, Self


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
