"""A tiny headless Chromium driver over the DevTools protocol (no Selenium, no Playwright, no page JavaScript).

The page under test runs with script execution disabled; the driver finds elements with DOM.querySelector,
clicks them with real mouse events at their box's centre, and reads the DOM back as HTML.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
)


def find_browser() -> str | None:
    """The path of an installed Chromium or Chrome, or None."""
    override = os.environ.get("CHROMIUM_PATH")
    if override and os.path.exists(override):
        return override
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


class Page:
    """One tab, driven through its DevTools websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
            elif "method" in data:
                await self._events.put(data)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a DevTools method and return its result (raises on a protocol error)."""
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, timeout=30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def _wait_for(self, event: str, timeout: float = 30) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                data = await self._events.get()
                if data["method"] == event:
                    return data

    async def phone(self, width: int = 390, height: int = 844) -> None:
        """Emulate a phone screen, with page scripts switched off."""
        await self.send("Page.enable")
        await self.send(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=3, mobile=True
        )
        await self.send("Emulation.setTouchEmulationEnabled", enabled=True)
        await self.send("Emulation.setScriptExecutionDisabled", value=True)

    async def goto(self, url: str) -> None:
        """Open url and wait for the page to load."""
        self._drain()
        await self.send("Page.navigate", url=url)
        await self._wait_for("Page.loadEventFired")

    def _drain(self) -> None:
        while not self._events.empty():
            self._events.get_nowait()

    async def _node(self, selector: str) -> int:
        root = await self.send("DOM.getDocument", depth=0)
        found = await self.send("DOM.querySelector", nodeId=root["root"]["nodeId"], selector=selector)
        if not found.get("nodeId"):
            raise LookupError(f"no element matches {selector}")
        return found["nodeId"]

    async def click(self, selector: str, *, navigates: bool = False) -> None:
        """Scroll the element into view and click its centre with the mouse."""
        node = await self._node(selector)
        await self.send("DOM.scrollIntoViewIfNeeded", nodeId=node)
        quad = (await self.send("DOM.getContentQuads", nodeId=node))["quads"][0]
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        self._drain()
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
        if navigates:
            await self._wait_for("Page.loadEventFired")

    async def html(self) -> str:
        """The current document as HTML."""
        root = await self.send("DOM.getDocument", depth=0)
        return (await self.send("DOM.getOuterHTML", nodeId=root["root"]["nodeId"]))["outerHTML"]

    async def layout_width(self) -> float:
        """The page's content width in CSS pixels (wider than the screen means sideways scrolling)."""
        metrics = await self.send("Page.getLayoutMetrics")
        return float(metrics["cssContentSize"]["width"])

    async def close(self) -> None:
        """Stop reading from the tab."""
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def chromium(path: str) -> AsyncIterator[Page]:
    """A fresh headless Chromium with a throwaway profile, and one page of it."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    process = subprocess.Popen(
        [path, *FLAGS, f"--user-data-dir={profile}", "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        port = await asyncio.get_running_loop().run_in_executor(None, _devtools_port, process)
        async with aiohttp.ClientSession() as http:
            async with http.put(f"http://127.0.0.1:{port}/json/new?about:blank") as response:
                target = await response.json(content_type=None)
            async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                page = Page(ws)
                try:
                    yield page
                finally:
                    await page.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_port(process: subprocess.Popen[bytes]) -> int:
    assert process.stderr is not None
    for raw in iter(process.stderr.readline, b""):
        match = re.search(rb"DevTools listening on ws://[^:]+:(\d+)/", raw)
        if match:
            # keep reading so a chatty browser never blocks on a full pipe
            threading.Thread(target=lambda: [None for _ in iter(process.stderr.readline, b"")], daemon=True).start()
            return int(match.group(1))
    raise RuntimeError(f"Chromium exited ({process.poll()}) before opening DevTools")
