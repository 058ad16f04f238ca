"""How fast a case app is in Chromium, served by Voila, beside a static HTML export of it.

For one case notebook, over --runs runs each (a fresh browser context every run, so the
browser cache is cold each time), medians of:

- navigation -> first option clickable: Voila with no warm kernel (cold), and with a warm
  kernel waiting for this notebook (Voila's preheated pool, as `CASEBOOK_POOL` sets it);
- Submit -> feedback shown, on the Voila page;
- RSS and PSS of the learner's kernel after one Submit;
- navigation -> first option rendered, in `jupyter nbconvert --to html --execute` of the same
  notebook, served from a loopback static server with the widget renderer from npm
  (benchmarks/package.json) in place of the CDN; it has no kernel: nothing to submit.

Every request off 127.0.0.1 is aborted and counted. `make bench` runs this;
`--json FILE` also writes the figures (benchmarks/results/ is git-ignored).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
from playwright.sync_api import Page, expect, sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from voila_server import NOTEBOOKS, VoilaServer, case_notebooks  # noqa: E402

from casebook.content.loading import load_library  # noqa: E402
from casebook.rules.scoring import answer_key  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
NODE_MODULES = HERE / "node_modules"
WARM_SETTLE = 5.0  # seconds after the pool refills, for the warm kernel to run the notebook
TIMEOUT_MS = 120_000


class Browser:
    def __init__(self, browser):
        self.browser = browser
        self.outside: list[str] = []

    def page(self) -> tuple[Page, object]:
        context = self.browser.new_context()
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.route("**/*", self._route)
        return page, context

    def _route(self, route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()


def leave(page: Page, context) -> None:
    page.unroute_all(behavior="wait")
    page.goto("about:blank")  # Voila's unload beacon shuts the kernel down
    context.close()


def kernel_memory(server: VoilaServer, kernel_id: str) -> tuple[float, float]:
    """RSS and PSS (MB) of the kernel process whose connection file names `kernel_id`."""
    for proc in psutil.Process(server.proc.pid).children():
        if kernel_id in " ".join(proc.cmdline()):
            info = proc.memory_full_info()
            return info.rss / 2**20, info.pss / 2**20
    raise RuntimeError(f"no process for kernel {kernel_id}")


def voila_runs(browser: Browser, server: VoilaServer, case_id: str, runs: int,
               warm: bool, cached: bool = False) -> dict[str, list[float]]:
    """`warm`: a preheated kernel waits for the page; `cached`: the browser has loaded the
    home page first in the same context, so Voila's scripts come from its cache."""
    stage = answer_key(*guideline_and_case(case_id))[0]
    option = next(o for o in stage.options if o.option == stage.recommended[0].option).text
    figures: dict[str, list[float]] = {"html_loaded": [], "first_option": [],
                                       "submit_feedback": [], "rss": [], "pss": []}
    for _ in range(runs):
        server.wait_status(lambda s: s["in_use"] == 0 and s["pooled"] == int(warm), 120,
                           "kernels still held or the pool not refilled")
        if warm:
            time.sleep(WARM_SETTLE)
        page, context = browser.page()
        if cached:
            page.goto(server.url)
            expect(page.locator(".cb-home")).to_be_visible(timeout=TIMEOUT_MS)
            page.goto("about:blank")
            server.wait_status(lambda s: s["in_use"] == 0, 120, "the home page's kernel held")
        start = time.perf_counter()
        page.goto(server.render_url(f"cases/{case_id}.ipynb"), wait_until="domcontentloaded")
        figures["html_loaded"].append(time.perf_counter() - start)
        first = page.locator(".cb-option").first
        expect(first).to_be_enabled(timeout=TIMEOUT_MS)
        expect(first).to_be_visible(timeout=TIMEOUT_MS)
        figures["first_option"].append(time.perf_counter() - start)

        control = page.locator(".cb-option", has_text=option).first
        box = control.locator("input")
        (box if box.count() else control).click()
        start = time.perf_counter()
        page.locator(".cb-submit").click()
        expect(page.locator(".cb-feedback")).to_contain_text("Points for this stage",
                                                             timeout=TIMEOUT_MS)
        figures["submit_feedback"].append(time.perf_counter() - start)

        kernel_id = page.evaluate(
            "JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
        rss, pss = kernel_memory(server, kernel_id)
        figures["rss"].append(rss)
        figures["pss"].append(pss)
        leave(page, context)
    return figures


def guideline_and_case(case_id: str):
    library = load_library()
    case = library.cases[case_id]
    return library.guideline_for(case), case


def static_export(case_id: str, out: Path, base_url: str) -> Path:
    """The executed notebook as HTML, loading the widget renderer from `base_url`."""
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", "--execute",
         f"--output-dir={out}", "--output=export",
         f"--HTMLExporter.widget_renderer_url={base_url}html-manager/embed-amd.js",
         f"--HTMLExporter.require_js_url={base_url}require.js",
         str(NOTEBOOKS / "cases" / f"{case_id}.ipynb")],
        check=True, capture_output=True, timeout=300)
    shutil.copytree(NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist",
                    out / "html-manager")
    shutil.copy(NODE_MODULES / "requirejs" / "require.js", out / "require.js")
    return out / "export.html"


def static_runs(browser: Browser, url: str, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"html_loaded": [], "first_option": []}
    for _ in range(runs):
        page, context = browser.page()
        start = time.perf_counter()
        page.goto(url, wait_until="domcontentloaded")
        figures["html_loaded"].append(time.perf_counter() - start)
        expect(page.locator(".cb-option").first).to_be_visible(timeout=TIMEOUT_MS)
        figures["first_option"].append(time.perf_counter() - start)
        context.close()
    return figures


def serve_folder(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(case_id: str, runs: int, results: dict, outside: list[str]) -> str:
    columns = [("Voila cold", "cold"), ("preheated", "preheated"),
               ("+ cached", "cached"), ("static HTML", "static")]
    rows = [("navigation -> page HTML loaded (s)", "html_loaded"),
            ("navigation -> first option clickable (s)", "first_option"),
            ("Submit -> feedback shown (s)", "submit_feedback"),
            ("learner's kernel RSS (MB)", "rss"),
            ("learner's kernel PSS (MB)", "pss")]
    lines = [f"case {case_id}, medians of {runs} runs; {psutil.cpu_count()} cores, "
             f"Python {platform.python_version()}, {chromium_version()}",
             f"{'':42}" + "".join(f"{title:>13}" for title, _ in columns)]
    for name, key in rows:
        cells = [results[mode].get(key) for _, mode in columns]
        lines.append(f"{name:42}" + "".join(
            f"{'n/a' if v is None else f'{median(v):.2f}':>13}" for v in cells))
    hosts = sorted({urlsplit(u).hostname or u for u in outside})
    lines.append(f"requests off 127.0.0.1 aborted: {len(outside)} {hosts}")
    lines.append("'+ cached': preheated, with the browser's cache warmed by the home page; "
                 "static HTML: no kernel, so nothing to submit")
    return "\n".join(lines)


def chromium_version() -> str:
    done = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True,
                          timeout=30)
    return done.stdout.strip() or "chromium"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", help="case id (default: the first case notebook)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    case_id = args.case or case_notebooks()[0]
    if not (NODE_MODULES / "@jupyter-widgets" / "html-manager").exists():
        subprocess.run(["npm", "ci", "--prefix", str(HERE), "--silent", "--no-audit",
                        "--no-fund", "--ignore-scripts"], check=True, timeout=600)

    results = {}
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        browser = Browser(pw.chromium.launch(executable_path="/usr/bin/chromium",
                                             headless=True, args=CHROMIUM_ARGS))
        env = {"CASEBOOK_POOL_SIZE": "0"}
        with VoilaServer(env=env) as server:
            results["cold"] = voila_runs(browser, server, case_id, args.runs, warm=False)
        env["CASEBOOK_POOL"] = f"cases/{case_id}.ipynb=1"
        with VoilaServer(env=env) as server:
            results["preheated"] = voila_runs(browser, server, case_id, args.runs, warm=True)
            results["cached"] = voila_runs(browser, server, case_id, args.runs, warm=True,
                                           cached=True)
        httpd, base_url = serve_folder(Path(tmp))
        try:
            export = static_export(case_id, Path(tmp), base_url)
            results["static"] = static_runs(browser, base_url + export.name, args.runs)
        finally:
            httpd.shutdown()
        browser.browser.close()

    print(report(case_id, args.runs, results, browser.outside))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"case": case_id, "runs": args.runs, **results,
                                         "outside": browser.outside}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
