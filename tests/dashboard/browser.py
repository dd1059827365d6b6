"""A headless Chromium that opens a page, waits for it to render, and screenshots it (DevTools protocol)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from tornado.websocket import websocket_connect

_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def chromium() -> str | None:
    """The Chromium binary on PATH (Debian's ``chromium``), if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class _Page:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.next_id = 0

    async def call(self, method: str, **params):
        self.next_id += 1
        await self.connection.write_message(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self.connection.read_message())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]


async def _screenshot(devtools: str, url: str, ready: str, width: int, height: int, timeout: float) -> bytes:
    browser = _Page(await websocket_connect(devtools))
    target = await browser.call("Target.createTarget", url="about:blank")
    page_ws = devtools.split("/devtools/")[0] + f"/devtools/page/{target['targetId']}"
    page = _Page(await websocket_connect(page_ws, max_message_size=64 * 2**20))
    await page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
    await page.call("Page.navigate", url=url)
    end = time.monotonic() + timeout
    while True:
        result = await page.call("Runtime.evaluate", expression=ready, returnByValue=True)
        if result["result"].get("value") is True:
            break
        if time.monotonic() > end:
            raise TimeoutError(f"{url} did not render within {timeout:g} s ({ready})")
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # let the canvases paint
    shot = await page.call("Page.captureScreenshot", format="png")
    return base64.b64decode(shot["data"])


def screenshot(url: str, ready: str, *, width: int = 1400, height: int = 1700, timeout: float = 15.0) -> bytes:
    """A PNG of ``url`` once the JavaScript expression ``ready`` is true (at most ``timeout`` seconds)."""
    binary = chromium()
    assert binary is not None
    # chromium's helper processes may still write the profile while it is removed: never fail on that
    with tempfile.TemporaryDirectory(prefix="simdask-chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: its helper processes end with it
        )
        try:
            assert process.stderr is not None
            devtools = None
            start = time.monotonic()
            while devtools is None and time.monotonic() - start < timeout:
                line = process.stderr.readline()
                if not line:
                    break
                match = _LISTENING.search(line)
                devtools = match.group(1) if match else None
            assert devtools, "chromium did not start its DevTools endpoint"
            return asyncio.run(_screenshot(devtools, url, ready, width, height, timeout))
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(10)
