"""The report in headless Chromium: every figure renders, no console errors, no network.

Runs Debian's Chromium with the flags the CI uses and a fresh profile, talks
to it over the DevTools protocol (a stdlib client in ``tests/_cdp.py``) and:

* records ``Runtime.consoleAPICalled`` (error/warning), ``Runtime.exceptionThrown``
  and ``Log.entryAdded`` (error): none allowed;
* records ``Network.requestWillBeSent``: only the report's own ``file:`` URL and
  its embedded ``data:`` images are allowed (and Chromium runs with a proxy on
  a dead port, so a request could not succeed anyway);
* checks every ``<img>`` decoded (``naturalWidth > 0``) and is laid out with a
  non-zero size, and every inline ``<svg>`` has a non-empty bounding box;
* saves a full-page screenshot under pytest's tmp dir.
"""
from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _report_fixtures import make_report_data  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

CHECK_JS = """(() => {
  const imgs = Array.from(document.images).map(i => ({w: i.naturalWidth, h: i.naturalHeight,
      cw: i.getBoundingClientRect().width, ch: i.getBoundingClientRect().height, ok: i.complete}));
  const svgs = Array.from(document.querySelectorAll('svg')).map(s => { const b = s.getBBox();
      const r = s.getBoundingClientRect(); return {bw: b.width, bh: b.height, cw: r.width, ch: r.height,
      n: s.querySelectorAll('rect,text').length}; });
  return JSON.stringify({imgs, svgs, sections: document.querySelectorAll('section').length,
      height: document.documentElement.scrollHeight, scripts: document.scripts.length});
})()"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium)")
def test_report_renders_in_chromium(tmp_path):
    from trial.report import write_report

    files = write_report(make_report_data(), tmp_path / "out", pdf=False)
    from _cdp import Browser

    profile = tmp_path / "profile"
    profile.mkdir()
    b = Browser(CHROMIUM, profile)
    try:
        for domain in ("Page", "Runtime", "Network", "Log"):
            b.call(f"{domain}.enable")
        url = files.html.resolve().as_uri()
        b.call("Page.navigate", url=url)
        b.wait_for("Page.loadEventFired")
        b.drain(0.5)
        res = json.loads(b.call("Runtime.evaluate", expression=CHECK_JS, returnByValue=True)["result"]["value"])
        metrics = b.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = b.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 12000),
                            "scale": 1})
        png = base64.b64decode(shot["data"])
        (tmp_path / "report.png").write_bytes(png)
    finally:
        b.close()
        # Chromium's own profile files (timestamps, ids) are not ours to keep: the session's CPR scan
        # has flagged a number in its "Local State"
        shutil.rmtree(profile, ignore_errors=True)

    errors = [e for e in b.events if e["method"] == "Runtime.exceptionThrown"
              or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "warning", "assert"))
              or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning"))]
    assert errors == []
    requests = [e["params"]["request"]["url"] for e in b.events if e["method"] == "Network.requestWillBeSent"]
    assert url in requests  # the recorder works: it saw the page itself
    assert [u for u in requests if not (u == url or u.startswith("data:"))] == []
    assert res["scripts"] == 0
    assert res["sections"] == 11
    assert len(res["imgs"]) == 3  # forest plot, weekly share, payback
    for img in res["imgs"]:
        assert img["ok"] and img["w"] > 100 and img["h"] > 100 and img["cw"] > 100 and img["ch"] > 50
    assert len(res["svgs"]) == 1  # the CONSORT flow diagram
    for svg in res["svgs"]:
        assert svg["bw"] > 300 and svg["bh"] > 200 and svg["cw"] > 300 and svg["n"] > 10
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium)")
def test_browser_check_catches_a_broken_image_and_a_network_request(tmp_path):
    """The checks can fail: a page with a broken image and an external stylesheet is caught."""
    from _cdp import Browser

    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><link rel="stylesheet" href="http://example.invalid/x.css">'
                    '</head><body><img src="data:image/png;base64,AAAA"><svg></svg>'
                    '<script>console.error("boom")</script></body></html>')
    profile = tmp_path / "profile"
    profile.mkdir()
    b = Browser(CHROMIUM, profile)
    try:
        for domain in ("Page", "Runtime", "Network", "Log"):
            b.call(f"{domain}.enable")
        b.call("Page.navigate", url=page.as_uri())
        b.wait_for("Page.loadEventFired")
        b.drain(0.5)
        res = json.loads(b.call("Runtime.evaluate", expression=CHECK_JS, returnByValue=True)["result"]["value"])
    finally:
        b.close()
        # Chromium's own profile files (timestamps, ids) are not ours to keep: the session's CPR scan
        # has flagged a number in its "Local State"
        shutil.rmtree(profile, ignore_errors=True)
    requests = [e["params"]["request"]["url"] for e in b.events if e["method"] == "Network.requestWillBeSent"]
    assert any(u.startswith("http://example.invalid") for u in requests)
    assert any(e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error" for e in b.events)
    assert res["imgs"][0]["w"] == 0
