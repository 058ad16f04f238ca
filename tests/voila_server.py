"""A real casebook Voila server for tests and benchmarks: `python -m casebook.serve.servers` on free
loopback ports.

Started as `make serve` starts it (both servers, casebook/serve/config/voila.py), with CASEBOOK_* settings
handed in through the environment; stopped (SIGTERM, then SIGKILL) with every kernel it
started. Every wait is bounded; a server that does not come up raises with its log.
"""

from __future__ import annotations

import json
import os
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


class VoilaServer:
    def __init__(self, env: dict[str, str] | None = None, notebooks: Path = NOTEBOOKS):
        self.port, self.instructor_port = free_ports(2)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.instructor_url = f"http://127.0.0.1:{self.instructor_port}/"
        self.scratch = tempfile.TemporaryDirectory(prefix="casebook-voila-")
        # The log outlives the server, for a look after a failure.
        self.log = Path(tempfile.mkstemp(prefix="casebook-voila-", suffix=".log")[1])
        # Records go to a throwaway database unless the caller names one.
        db = f"sqlite:///{Path(self.scratch.name) / 'casebook.db'}"
        self.env = {**os.environ, "CASEBOOK_DB": db, **(env or {})}
        self.notebooks = notebooks
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> VoilaServer:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "casebook.serve.servers", f"--port={self.port}",
                 f"--instructor-port={self.instructor_port}", f"--notebooks={self.notebooks}"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)  # its own process group: stopped with its kernels
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                self.status()
                get(self.instructor_url, timeout=5)
                return self
            except OSError:
                time.sleep(0.5)
        log = self.log_text()
        self.stop()
        raise RuntimeError(f"Voila did not start in {timeout}s; its log:\n{log}")

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

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # Voila shuts its kernels down on SIGTERM
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.scratch.cleanup()

    def __enter__(self) -> VoilaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
