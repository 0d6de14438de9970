"""The HTML report as a person sees it: rendered by a real headless Chromium.

The bundled sample's report is written to a temp dir and opened in headless
Chromium (Debian package ``chromium``, installed by ``.ci/run``), driven through the
Chrome DevTools protocol on 127.0.0.1 with a minimal standard-library websocket
client (no extra dependency). At a phone (390 CSS px, mobile emulation, so the
viewport meta applies) and a laptop (1280 px) width it asserts: no console
messages, uncaught exceptions or log errors; no request other than the file itself
and inline data (the network is also blocked with a host-resolver rule); every plot
present with a non-zero rendered size inside the viewport; no horizontal overflow.
Full-page screenshots are saved under the test's tmp_path. Skips only when Chromium
is absent.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import forecheck
from tests.conftest import SAMPLE_DATA

PLOTS = ("paths", "cumulative", "cumulative-excess", "ratio-by-p0", "excess-by-tau", "qq", "reliability",
         "jumps", "walk")
WIDTHS = {"phone": 390, "laptop": 1280}

# Evaluated in the page (the report itself has no script): rendered size of every
# figure's image, page scroll size, elements sticking out of the viewport.
MEASURE_JS = """
(function () {
  var vw = document.documentElement.clientWidth;
  var figs = Array.prototype.map.call(document.querySelectorAll("figure.plot"), function (f) {
    var img = f.querySelector("svg, img");
    var r = (img || f).getBoundingClientRect();
    var cs = window.getComputedStyle(img || f);
    return {key: f.getAttribute("data-plot"), has_image: !!img, width: r.width, height: r.height,
            left: r.left, right: r.right, display: cs.display, visibility: cs.visibility,
            caption: (f.querySelector("figcaption") || {}).textContent || ""};
  });
  var over = [];
  Array.prototype.forEach.call(document.querySelectorAll("body *"), function (el) {
    if (el.closest(".table-wrap") || el.closest("svg")) return;
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1) over.push(el.tagName + "." + el.className);
  });
  return JSON.stringify({viewport: vw, scroll_width: document.documentElement.scrollWidth,
    scroll_height: document.documentElement.scrollHeight, figures: figs, overflowing: over.slice(0, 20),
    body_font_px: parseFloat(window.getComputedStyle(document.body).fontSize)});
})()
"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


# ------------------------------------------------------------- CDP client
class CDP:
    """A minimal Chrome DevTools protocol client over a websocket (RFC 6455), stdlib only."""

    def __init__(self, ws_url: str, timeout: float = 60.0):
        u = urllib.parse.urlparse(ws_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(head.decode(errors="replace"))
        self.next_id = 0
        self.events: list[dict] = []

    def _exact(self, n: int) -> bytes:
        parts, have = [self.buf], len(self.buf)
        while have < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("websocket closed")
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        self.buf = data[n:]
        return data[:n]

    def _send(self, text: str, opcode: int = 0x1) -> None:
        payload = text.encode()
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _message(self) -> dict:
        parts = []
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            mask = self._exact(4) if b1 & 0x80 else None
            data = self._exact(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            if opcode == 0x9:  # ping
                continue
            parts.append(data)
            if b0 & 0x80:
                return json.loads(b"".join(parts).decode())

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        mid = self.next_id
        self._send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = self._message()
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for e in self.events:
                if e.get("method") == method:
                    return e
            self.events.append(self._message())
        raise TimeoutError(method)

    def close(self) -> None:
        self.sock.close()


class Browser:
    """Headless Chromium with remote debugging on 127.0.0.1; the port is read from
    the profile's DevToolsActivePort file."""

    def __init__(self, binary: str, profile: Path):
        profile.mkdir(parents=True, exist_ok=True)
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"]
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS="disabled:")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        port_file = profile / "DevToolsActivePort"
        end = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > end:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                self.quit()
                raise RuntimeError(f"chromium did not start: {err[-2000:]}")
            time.sleep(0.05)
        self.port = int(port_file.read_text().split()[0])

    def page(self) -> CDP:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=30) as r:
            targets = json.load(r)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        return CDP(url)

    def quit(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()


def open_report(binary: str, html_path: Path, work: Path, width: int, mobile: bool,
                screenshot: Path | None = None) -> dict:
    """Load the page at ``width`` CSS px; measurements, console/log/exception events,
    requested URLs, and (optionally) a full-page PNG screenshot."""
    browser = Browser(binary, work / f"profile-{width}")
    try:
        page = browser.page()
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1,
                  mobile=mobile)
        page.call("Page.navigate", url=html_path.as_uri())
        page.wait_for("Page.loadEventFired")
        res = page.call("Runtime.evaluate", expression=MEASURE_JS, returnByValue=True)
        data = json.loads(res["result"]["value"])
        if screenshot is not None:
            metrics = page.call("Page.getLayoutMetrics")
            height = int(min(metrics["cssContentSize"]["height"], 16000))
            page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=mobile)
            shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            data["screenshot_height"] = height
        events = page.events
        page.close()
    finally:
        browser.quit()
    data["console"] = [e["params"] for e in events if e.get("method") == "Runtime.consoleAPICalled"]
    data["exceptions"] = [e["params"] for e in events if e.get("method") == "Runtime.exceptionThrown"]
    data["log"] = [e["params"]["entry"] for e in events if e.get("method") == "Log.entryAdded"]
    data["requests"] = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    return data


def png_size(path: Path) -> tuple[int, int]:
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def render_sample(folder: Path) -> Path:
    report = forecheck.analyze(str(SAMPLE_DATA / "pres2020_states.csv"))
    path = folder / "report.html"
    path.write_text(report.to_html(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    return binary


@pytest.fixture(scope="module")
def sample_html(tmp_path_factory) -> Path:
    return render_sample(tmp_path_factory.mktemp("html"))


def test_report_is_self_contained(sample_html):
    text = sample_html.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    assert not re.search(r"""\bsrc\s*=\s*["']?(https?:|//)""", text, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", text, re.I)
    assert "@import" not in text
    for key in PLOTS:
        assert text.count(f'data-plot="{key}"') == 1, key
    assert "Not drawn on this data" not in text
    # every figure has alt text and a caption
    assert len(re.findall(r'role="img" aria-label="[^"]{40,}"', text)) == len(PLOTS)
    assert text.count("<figcaption>") == len(PLOTS)


@pytest.mark.parametrize("device", list(WIDTHS))
def test_report_renders_in_chromium(chromium, sample_html, tmp_path, device):
    width = WIDTHS[device]
    shot = tmp_path / f"html-report-{device}.png"
    data = open_report(chromium, sample_html, tmp_path, width, mobile=device == "phone", screenshot=shot)
    assert data["console"] == [] and data["exceptions"] == [], (data["console"], data["exceptions"])
    assert [e for e in data["log"] if e.get("level") in ("error", "warning")] == []
    assert data["requests"] and all(u.startswith(("file:", "data:")) for u in data["requests"]), data["requests"]
    assert data["viewport"] == width
    figs = {f["key"]: f for f in data["figures"]}
    assert sorted(figs) == sorted(PLOTS)
    for key, f in figs.items():
        assert f["has_image"], key
        assert f["display"] != "none" and f["visibility"] == "visible", (key, f)
        assert f["width"] > 0.6 * min(width, 620) - 40, (key, f)  # a figure fills its column
        assert f["height"] > 0.4 * f["width"], (key, f)
        assert f["left"] >= 0 and f["right"] <= width + 0.5, (key, f)
        assert len(f["caption"]) > 40, key
    assert data["scroll_width"] <= width, data["overflowing"]
    assert data["overflowing"] == []
    assert data["body_font_px"] >= 16
    assert png_size(shot) == (width, data["screenshot_height"])
    assert data["screenshot_height"] >= data["scroll_height"] - 1 or data["screenshot_height"] == 16000


def test_console_capture_sees_errors(chromium, tmp_path):
    """The harness is not blind: a page that logs an error and throws is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><figure class="plot" data-plot="x"></figure><script>'
                    'console.error("boom"); missingFunction();</script></body></html>', encoding="utf-8")
    data = open_report(chromium, page, tmp_path, 600, mobile=False)
    assert [c["type"] for c in data["console"]] == ["error"]
    assert len(data["exceptions"]) == 1
