"""Slider latency in the browser: from the mouse button's release on a slider to the new figure on screen.

Starts a private JupyterLab with `make present`'s settings (as tests/browser does: the project's venv, a copy of
notebooks/, its own config folders, stopped by its process id), opens each notebook in headless Chromium at
1280x720, runs all its cells (on the committed runs), then for every *explorer* (an output with sliders and a
figure) drags its sliders with the mouse, round robin, ``--moves`` times, and times each move:

- ``total``: the mouse button released → the new image decoded and painted (two animation frames later);
- ``wait``: release → the kernel starts on the slider's final value (the front end sending it, and the kernel
  finishing the values sent earlier during the drag: ``updates`` counts them);
- ``kernel``: the kernel's work on the final value (busy → idle: the Python observer, the PNG, the table);
- ``transport``: the kernel sending the image → the browser receiving it;
- ``render``: the browser receiving the image → the new image painted.

Prints one JSON line per explorer while it runs, then one JSON object (the last line) with every explorer.

    python benchmarks/slider_latency.py [--moves 20] [--notebooks 01 03 ...] [--keyboard]

``--keyboard`` moves the sliders with the arrow keys instead (no drag, one value per move). The goal: a median
under 300 ms for every explorer on 2 CPU cores. Needs Chromium and Playwright, as the browser tests do.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO))

from driver import (CHROMIUM_ARGS, PRESENTER, SCREEN, LabServer, find_chromium, make_root,  # noqa: E402
                    open_notebook, presenter_overrides, run_all, shutdown_kernel, wait_widgets)

from course_utils.provenance import provenance  # noqa: E402

# Every kernel message, with the browser's clock: direction, type, id, parent id, the kernel's date, buffer bytes.
JS_RECORD = """() => { const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  window.__messages = [];
  kernel.anyMessage.connect((_, args) => { const m = args.msg;
    const bytes = (m.buffers || []).reduce((n, b) => n + (b.byteLength || 0), 0);
    window.__messages.push({t: performance.timeOrigin + performance.now(), dir: args.direction,
      type: m.header.msg_type, id: m.header.msg_id, parent: m.parent_header && m.parent_header.msg_id,
      date: m.header.date ? Date.parse(m.header.date) : null, bytes: bytes,
      state: m.content && m.content.execution_state,
      method: m.content && m.content.data && m.content.data.method}); }); }"""

# The explorers: output areas holding at least one visible slider and one figure (img or canvas).
JS_EXPLORERS = """(panel) => { const out = [];
  const cells = Array.from(document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell'));
  cells.forEach((cell, index) => { const area = cell.querySelector('.jp-OutputArea'); if (!area) return;
    const sliders = Array.from(area.querySelectorAll('.widget-slider')).filter(s => s.getBoundingClientRect().width > 0);
    if (sliders.length && area.querySelector('img, canvas'))
      out.push({cell: index, sliders: sliders.map(s => (s.querySelector('.widget-label') || {}).textContent || '?')}); });
  return out; }"""

# Arm a watch on one output area: resolves with the time the next new image is painted.
JS_ARM = """([panel, cell]) => { const area = document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell')[cell]
    .querySelector('.jp-OutputArea');
  const seen = new Set(Array.from(area.querySelectorAll('img')).map(i => i.src));
  window.__release = null;
  window.__painted = new Promise(resolve => {
    const observer = new MutationObserver(() => {
      const fresh = Array.from(area.querySelectorAll('img')).find(i => !seen.has(i.src));
      if (!fresh) return;
      observer.disconnect();
      fresh.decode().catch(() => null).then(() => requestAnimationFrame(() => requestAnimationFrame(
        () => resolve(performance.timeOrigin + performance.now()))));
    });
    observer.observe(area, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  });
  if (!window.__releaseHooked) {   // the last release before the image counts (a retried drag releases twice)
    const release = () => { window.__release = performance.timeOrigin + performance.now(); };
    document.addEventListener('pointerup', release, {capture: true});
    document.addEventListener('keyup', release, {capture: true});
    window.__releaseHooked = true; }
  window.__since = performance.timeOrigin + performance.now(); }"""

JS_WAIT = """async (timeoutMs) => { const timer = new Promise(r => setTimeout(() => r(null), timeoutMs));
  const painted = await Promise.race([window.__painted, timer]);
  return {release: window.__release, painted: painted, since: window.__since,
          messages: window.__messages.filter(m => m.t >= window.__since - 1)}; }"""


def breakdown(record: dict) -> dict | None:
    """One move's phases (ms) from the page's record, or None if no new image came."""
    release, painted, messages = record["release"], record["painted"], record["messages"]
    if release is None or painted is None:
        return None
    sent = [m for m in messages if m["dir"] == "send" and m["type"] == "comm_msg" and m["method"] == "update"]
    if not sent:
        return None
    busy = {m["parent"]: m["date"] for m in messages if m["type"] == "status" and m["state"] == "busy"}
    idle = {m["parent"]: m["date"] for m in messages if m["type"] == "status" and m["state"] == "idle"}
    last = max((m for m in sent if m["id"] in busy and m["id"] in idle), key=lambda m: busy[m["id"]], default=None)
    if last is None:
        return None
    images = [m for m in messages if m["dir"] == "recv" and m["parent"] == last["id"] and m["bytes"] > 0]
    image = max(images, key=lambda m: m["bytes"], default=None)
    received = image["t"] if image else painted
    return {"total": painted - release, "wait": busy[last["id"]] - release,
            "kernel": idle[last["id"]] - busy[last["id"]],
            "transport": (image["t"] - image["date"]) if image else None, "render": painted - received,
            "updates": len(sent), "png_kb": (image["bytes"] / 1024) if image else None}


def drag(page, handle, direction: int, steps_px: float) -> None:
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + direction * steps_px, y, steps=6)  # a short drag: several intermediate values
    page.mouse.up()


def drag_to_next_value(page, handle, direction: int, track_width: float) -> bool:
    """Drag the handle far enough to change its value: an eighth of the track, then a quarter, then half (a
    slider of few options has wide steps, and a short drag snaps back). False if the value never changed (an
    end of the slider). Each try that fails sends nothing to the kernel."""
    before = handle.get_attribute("aria-valuenow")
    for fraction in (8, 4, 2):
        drag(page, handle, direction, max(15.0, track_width / fraction))
        if handle.get_attribute("aria-valuenow") != before:
            return True
    return False


def time_explorer(page, panel: str, explorer: dict, moves: int, keyboard: bool) -> dict:
    area = page.locator(f"{panel} .jp-Notebook .jp-Cell").nth(explorer["cell"]).locator(".jp-OutputArea")
    sliders = area.locator(".widget-slider")
    results, misses, direction = [], 0, {}
    for move in range(moves):
        i = move % sliders.count()
        slider = sliders.nth(i)
        handle = slider.locator(".noUi-handle").first
        handle.scroll_into_view_if_needed()
        track = slider.locator(".noUi-target").first.bounding_box()
        before = handle.get_attribute("aria-valuenow")
        page.evaluate(JS_ARM, [panel, explorer["cell"]])
        sign = direction.setdefault(i, 1)
        if keyboard:
            handle.focus()
            handle.press("ArrowRight" if sign > 0 else "ArrowLeft")
            moved = handle.get_attribute("aria-valuenow") != before
        else:
            moved = drag_to_next_value(page, handle, sign, track["width"])
        if not moved:  # at an end: go the other way next time
            direction[i] = -sign
            misses += 1
            page.wait_for_timeout(300)
            continue
        phases = breakdown(page.evaluate(JS_WAIT, 15_000))
        if phases is None:
            misses += 1
        else:
            results.append(phases)
        page.wait_for_timeout(300)  # let the kernel settle before the next move
    summary = {"cell": explorer["cell"], "sliders": explorer["sliders"], "moves": len(results), "missed": misses}
    for key in ("total", "wait", "kernel", "transport", "render", "updates", "png_kb"):
        values = sorted(r[key] for r in results if r[key] is not None)
        if values:
            summary[f"{key}_median"] = round(statistics.median(values), 1)
            if key == "total":
                summary["total_p90"] = round(values[int(0.9 * (len(values) - 1))], 1)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=20, help="slider moves per explorer (default 20)")
    parser.add_argument("--notebooks", nargs="*", default=None,
                        help="notebook numbers or names (default: every notebook in notebooks/)")
    parser.add_argument("--keyboard", action="store_true", help="arrow keys instead of mouse drags")
    args = parser.parse_args()
    if args.moves < 1:
        parser.error(f"--moves={args.moves} must be >= 1")
    names = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    if args.notebooks:
        chosen = [n for n in names if any(n == a or n.startswith(f"{a}_") for a in args.notebooks)]
        if len(chosen) != len(args.notebooks):
            parser.error(f"--notebooks={args.notebooks} must name notebooks of {names}")
        names = chosen
    chromium = find_chromium()
    if chromium is None:
        parser.error("Chromium not found (Debian/Ubuntu: sudo apt-get install -y chromium; or set CHROMIUM=...)")
    from playwright.sync_api import sync_playwright

    explorers = []
    with tempfile.TemporaryDirectory(prefix="slider-latency-") as tmp:
        server = LabServer(root=make_root(Path(tmp)), home=Path(tmp) / "home", overrides=presenter_overrides(),
                           env={"COURSE_PRESENTER": "1"}, user_settings=PRESENTER / "user-settings",
                           custom_css=PRESENTER / "custom" / "custom.css")
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_context(viewport=SCREEN).new_page()
                page.set_default_timeout(60_000)
                for name in names:
                    panel = open_notebook(page, server, f"notebooks/{name}")
                    try:
                        outcome = run_all(page, timeout_s=600)
                        if outcome != "done":
                            print(json.dumps({"notebook": name, "error": outcome}), flush=True)
                            continue
                        wait_widgets(page)
                        page.evaluate(JS_RECORD)
                        for explorer in page.evaluate(JS_EXPLORERS, panel):
                            summary = {"notebook": name, **time_explorer(page, panel, explorer, args.moves,
                                                                         args.keyboard)}
                            print(json.dumps(summary, ensure_ascii=False), flush=True)
                            explorers.append(summary)
                    finally:
                        shutdown_kernel(page)
                browser.close()
        finally:
            server.stop()
    print(json.dumps({"benchmark": "slider_latency", "input": "keyboard" if args.keyboard else "mouse drag",
                      "moves": args.moves, "explorers": explorers, "viewport": SCREEN,
                      "chromium": chromium, **provenance("cpu")}, ensure_ascii=False))


if __name__ == "__main__":
    main()
