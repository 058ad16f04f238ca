"""A real casebook Voila server for tests and benchmarks: `python -m casebook.serve.servers` on free
loopback ports.

Started as `make serve` starts it (both servers, casebook/serve/config/voila.py), with CASEBOOK_* settings
handed in through the environment; stopped (SIGTERM, then SIGKILL) with every kernel it
started. Every wait is bounded; a server that does not come up raises with its log.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
CELL_OUTPUT = re.compile(
    r'<script type="application/vnd\.voila\.cell-output\+json">(.*?)</script>', re.DOTALL)


def case_notebooks(notebooks: Path = NOTEBOOKS) -> list[str]:
    """The case apps served: notebooks/cases/<id>.ipynb, by id."""
    return sorted(p.stem for p in (notebooks / "cases").glob("*.ipynb"))


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (held open together while chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def get(url: str, timeout: float = 60) -> tuple[int, dict[str, str], str]:
    """GET over loopback: (status, headers, body), HTTP errors included."""
    assert url.startswith("http://127.0.0.1:"), url
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode("utf-8", "replace")


def shown(html: str) -> list[str]:
    """What a rendered page's cells put on screen: each output's widget class (as its repr
    names it: "CasePlayer", "ErrorScreen", "HomePage"), or its kind when it is no widget
    ("stream" for printed text, "error"). A cell that raised shows nothing here, since the
    config hides tracebacks. A page can be 200 and show an error screen, or nothing at all.
    """
    found = []
    for output in (json.loads(text) for text in CELL_OUTPUT.findall(html)):
        data = output.get("data", {})
        widget = "application/vnd.jupyter.widget-view+json" in data
        found.append(data.get("text/plain", "").split("(")[0] if widget else output["output_type"])
    return found


class VoilaServer:
    def __init__(self, env: dict[str, str] | None = None, notebooks: Path = NOTEBOOKS):
        self._choose_ports()
        self.scratch = tempfile.TemporaryDirectory(prefix="casebook-voila-")
        # The log outlives the server, for a look after a failure.
        self.log = Path(tempfile.mkstemp(prefix="casebook-voila-", suffix=".log")[1])
        # Records go to a throwaway database unless the caller names one.
        db = f"sqlite:///{Path(self.scratch.name) / 'casebook.db'}"
        # The instructors' server asks for a login: a token of the run's own, and no password
        # file (a developer's data/instructor-password.json is never read by tests).
        self.env = {**os.environ, "CASEBOOK_DB": db,
                    "CASEBOOK_INSTRUCTOR_TOKEN": secrets.token_urlsafe(16),
                    "CASEBOOK_INSTRUCTOR_PASSWORD_FILE": str(Path(self.scratch.name) / "none"),
                    **(env or {})}
        self.instructor_token = self.env["CASEBOOK_INSTRUCTOR_TOKEN"]
        self.notebooks = notebooks
        self.proc: subprocess.Popen | None = None

    def _choose_ports(self) -> None:
        self.port, self.instructor_port = free_ports(2)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.instructor_url = f"http://127.0.0.1:{self.instructor_port}/"

    def start(self, timeout: float = 120) -> VoilaServer:
        for _ in range(3):  # a port taken (by another xdist worker's process) after it was chosen
            if self._launch(timeout):
                return self
            if "already in use" not in self.log_text():
                break
            self._end()
            self._choose_ports()
        log = self.log_text()
        self.stop()
        raise RuntimeError(f"Voila did not start in {timeout}s; its log:\n{log}")

    def _launch(self, timeout: float) -> bool:
        """Start both servers: True once both answer; False if they exit, time out or find a
        port taken (Voila is set never to move to another port)."""
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "casebook.serve.servers", f"--port={self.port}",
                 f"--instructor-port={self.instructor_port}", f"--notebooks={self.notebooks}"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)  # its own process group: stopped with its kernels
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                self.status()
                get(self.instructor_url, timeout=5)
                return True
            except OSError:
                if "already in use" in self.log_text():
                    return False
                time.sleep(0.5)
        return False

    def status(self, learner: bool = True) -> dict:
        base = self.url if learner else self.instructor_url
        code, _, body = get(base + "casebook/status", timeout=10)
        assert code == 200, body
        return json.loads(body)

    def wait_status(self, ok, timeout: float, what: str) -> dict:
        """Poll /casebook/status until ok(status) holds; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        status = self.status()
        while not ok(status):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still {status} after {timeout}s")
            time.sleep(0.5)
            status = self.status()
        return status

    def render_url(self, notebook: str) -> str:
        return f"{self.url}voila/render/{notebook}"

    def instructor_render_url(self, notebook: str, query: str = "") -> str:
        """An instructors' page with the login token (Jupyter's ?token=, which also sets the
        login cookie for the rest of a browser context)."""
        joined = "&" if query else ""
        return (f"{self.instructor_url}voila/render/{notebook}?{query}{joined}"
                f"token={self.instructor_token}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def _end(self) -> None:
        """Stop the process group: both servers and their kernels, even if one has exited."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # Voila shuts its kernels down on SIGTERM
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        self._end()
        self.scratch.cleanup()

    def __enter__(self) -> VoilaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
