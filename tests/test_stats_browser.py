"""The HTML reports in a real headless browser (Debian's chromium): they load with no
console error and no network request, the charts are in the DOM, and a screenshot is not
blank. Chromium is driven over the DevTools protocol with a small stdlib WebSocket client.

Skipped when /usr/bin/chromium is missing (`apt-get install -y chromium`)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from curation.stats.collect import collect
from curation.stats.compare import compare
from curation.stats.html import render_compare, render_stats
from curation.stats.run_report import write_run_report
from tests.support.curation import manifest, write_jsonl, write_pipeline
from tests.support.stats_corpus import known_rows, write_corpus

CHROMIUM = os.environ.get("GRISTMILL_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"no headless browser at {CHROMIUM}: install Debian's chromium "
           "(apt-get install -y chromium) to run the HTML report checks")


class DevTools:
    """Just enough of a WebSocket client (RFC 6455) for the DevTools protocol."""

    def __init__(self, url: str):
        host, _, path = url.removeprefix("ws://").partition("/")
        name, _, port = host.partition(":")
        self.sock = socket.create_connection((name, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("browser closed the connection")
            data += chunk
        return data

    def _receive(self) -> dict[str, Any]:
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            if first & 0x0F in (0x1, 0x0):
                message += payload
                if first & 0x80:
                    return json.loads(message)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        data = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(header + mask + masked)
        while True:
            message = self._receive()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(method)
            self.events.append(self._receive())


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "--window-size=1280,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(port: int, path: Path) -> tuple[DevTools, dict[str, Any]]:
    """Load a file in a new tab; return the connection and what the page reported."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank",
                                     method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        target = json.loads(response.read())
    tab = DevTools(target["webSocketDebuggerUrl"])
    for domain in ("Page", "Runtime", "Log", "Network"):
        tab.call(f"{domain}.enable")
    tab.call("Emulation.setDeviceMetricsOverride", width=1280, height=900,
             deviceScaleFactor=1, mobile=False)
    tab.call("Page.navigate", url=path.as_uri())
    tab.wait_for("Page.loadEventFired")
    dom = tab.call("Runtime.evaluate", returnByValue=True, expression="""JSON.stringify({
        charts: document.querySelectorAll('svg.chart').length,
        histograms: document.querySelectorAll('svg.chart.histogram').length,
        funnels: document.querySelectorAll('svg.chart.funnel').length,
        bars: document.querySelectorAll('svg.chart rect.bar').length,
        axisLabels: [...document.querySelectorAll('svg.chart text')].map(t => t.textContent),
        width: document.documentElement.scrollWidth,
        height: document.documentElement.scrollHeight})""")
    return tab, json.loads(dom["result"]["value"])


def problems(tab: DevTools, page: Path) -> list[str]:
    """Console errors, uncaught exceptions, log errors, and requests other than the page."""
    found = []
    for event in tab.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            found.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if url != page.as_uri() and not url.startswith("data:"):
                found.append(f"request: {url}")
    return found


def screenshot_colors(tab: DevTools, out: Path) -> dict[str, Any]:
    """Save a PNG screenshot; decode it in the browser (canvas) to count its colors."""
    shot = tab.call("Page.captureScreenshot", format="png")["data"]
    out.write_bytes(base64.b64decode(shot))
    result = tab.call("Runtime.evaluate", awaitPromise=True, returnByValue=True, expression=f"""
        new Promise(done => {{
          const img = new Image();
          img.onload = () => {{
            const canvas = document.createElement('canvas');
            canvas.width = img.width; canvas.height = img.height;
            const ctx = canvas.getContext('2d');
            ctx.drawImage(img, 0, 0);
            const pixels = ctx.getImageData(0, 0, img.width, img.height).data;
            const counts = new Map();
            for (let i = 0; i < pixels.length; i += 4) {{
              const key = (pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2];
              counts.set(key, (counts.get(key) || 0) + 1);
            }}
            const top = Math.max(...counts.values());
            done(JSON.stringify({{width: img.width, height: img.height, colors: counts.size,
                                  dominant: top / (pixels.length / 4)}}));
          }};
          img.src = 'data:image/png;base64,{shot}';
        }})""")
    return json.loads(result["result"]["value"])


def check(port: int, html: Path, tmp_path: Path, min_charts: int) -> dict[str, Any]:
    tab, dom = open_page(port, html)
    assert problems(tab, html) == []
    assert dom["charts"] >= min_charts and dom["bars"] > 20
    assert dom["width"] <= 1280  # no sideways scrolling on a laptop screen
    shot = screenshot_colors(tab, tmp_path / f"{html.stem}.png")
    assert (shot["width"], shot["height"]) == (1280, 900)
    assert (tmp_path / f"{html.stem}.png").stat().st_size > 20_000
    assert shot["colors"] > 50 and shot["dominant"] < 0.9, shot  # not one flat color
    return dom


def test_corpus_and_compare_reports_render(browser, tmp_path):
    corpus = write_corpus(tmp_path / "corpus", known_rows())
    stats = collect(corpus, workers=1)
    page = tmp_path / "stats.html"
    page.write_text(render_stats(stats))
    dom = check(browser, page, tmp_path, min_charts=6)
    assert dom["histograms"] >= 4
    assert "words per document (log scale)" in dom["axisLabels"]
    assert "documents" in dom["axisLabels"]
    subset = write_corpus(tmp_path / "subset", known_rows()[10:], files=1)
    page = tmp_path / "compare.html"
    page.write_text(render_compare(compare(corpus, subset, workers=1)))
    dom = check(browser, page, tmp_path, min_charts=5)
    assert "% of documents" in dom["axisLabels"]


def test_run_report_renders(browser, tmp_path, curate):
    body = "The quick brown fox jumps over the lazy dog near the river bank today."
    records = [{"text": f"{body} Number {i}.", "source": "web"} for i in range(30)]
    records += [{"text": "too short", "source": "web"}] * 3 + [records[0]] * 2
    write_jsonl(tmp_path / "in" / "a.jsonl", records)
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in" / "*.jsonl"), out,
                              steps=[{"length": {"min_words": 5}}, {"exact_dedup": {}},
                                     {"split": {"validation_fraction": 0.2}}])
    assert curate(pipeline) == 0
    report = write_run_report(out, manifest(out), workers=1)
    dom = check(browser, report, tmp_path, min_charts=6)
    assert dom["funnels"] == 2


def test_the_check_catches_errors_and_network_use(browser, tmp_path):
    """A negative control: the same check on a page that misbehaves."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>'
                    '<script>console.error("broken"); notDefined();</script>'
                    '<img src="http://127.0.0.1:9/missing.png"></body></html>')
    tab, _ = open_page(browser, page)
    time.sleep(0.5)
    tab.call("Runtime.evaluate", expression="1")  # collect late events
    found = "\n".join(problems(tab, page))
    assert "console.error" in found and "exception" in found and "request:" in found
