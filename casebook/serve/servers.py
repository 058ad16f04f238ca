"""Serving the casebook with Voila: learners and instructors apart, kernels bounded.

`casebook serve` (what `make serve` runs; it calls `main` here) starts two Voila servers on 127.0.0.1:
the learners' one on --port, rooted at notebooks/ with notebooks/instructor/ refused, and the
instructors' one on --port + 1, rooted at notebooks/instructor/. Their settings (pool, cap,
culling timeouts, each overridable by a CASEBOOK_* variable) are in casebook/serve/config/voila.py; this
module holds only what Voila has no setting for:

- a cap on the kernels held by pages: past it a page load gets a 503 "busy" page instead of
  one more kernel (Voila has no such limit: voila-dashboards/voila#617);
- culling of kernels whose page never opened its websocket (a script or a refresh storm),
  after a short timeout, besides jupyter_server's usual idle culling;
- `GET /casebook/status`, the kernel counts as JSON, for instructors and tests;
- the Host check (config/voila.py turns it on) on Voila's static-file handlers too, which are
  not Jupyter's and so skip it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.log import app_log
from traitlets import Integer, List, Unicode, default
from voila.app import Voila
from voila.static_file_handler import AllowListFileHandler
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from casebook.content.roots import notebooks_root
from casebook.ui.render import render

CONFIG_DIR = Path(__file__).resolve().parent / "config"
TEMPLATES = CONFIG_DIR / "share" / "voila" / "templates" / "casebook"  # also `casebook lab`'s
NOTEBOOKS = notebooks_root()  # the checkout's notebooks/, the wheel's copy, or $CASEBOOK_NOTEBOOKS


class CasebookKernelManager(AsyncMappingKernelManager):
    """Kernels that count what pages hold and cull those no page is connected to."""

    unconnected_timeout = Integer(
        60, config=True,
        help="Seconds a kernel out of the pool may go with no page connected (its page never "
             "connected, or left without shutting it down) before it is culled; 0: never. "
             "Checked every cull_interval.",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._unconnected_since: dict[str, float] = {}

    def notify_connect(self, kernel_id: str) -> None:
        super().notify_connect(kernel_id)
        self._unconnected_since.pop(kernel_id, None)
        if kernel_id in self._kernels:  # a connection is activity: a pooled kernel idled
            self._kernels[kernel_id].last_activity = datetime.now(UTC)

    def notify_disconnect(self, kernel_id: str) -> None:
        super().notify_disconnect(kernel_id)
        if self._kernel_connections.get(kernel_id) == 0:
            self._unconnected_since[kernel_id] = time.monotonic()

    def pooled_kernel_ids(self) -> set[str]:
        """Kernels waiting, warm, in Voila's preheat pools (none without preheat)."""
        tasks = (t for pool in getattr(self, "_pools", {}).values() for t in pool)
        return {t.result()["kernel_id"] for t in tasks
                if t.done() and not t.cancelled() and t.exception() is None}

    def kernels_in_use(self) -> int:
        """Kernels held by pages: every live kernel but the warm ones in the pools."""
        return len(set(self.list_kernel_ids()) - self.pooled_kernel_ids())

    async def cull_kernels(self) -> None:
        live = set(self.list_kernel_ids())
        self._unconnected_since = {k: t for k, t in self._unconnected_since.items() if k in live}
        await super().cull_kernels()

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        # Voila's preheating manager asks only about kernels out of its pools, so a kernel
        # first seen here unconnected has just been handed to a page: its clock starts now.
        if self._kernel_connections.get(kernel_id, 0) == 0 and self.unconnected_timeout > 0:
            since = self._unconnected_since.setdefault(kernel_id, time.monotonic())
            if time.monotonic() - since > self.unconnected_timeout:
                self.log.warning("Culling kernel %s: no page connected for %ss",
                                 kernel_id, self.unconnected_timeout)
                await self.shutdown_kernel(kernel_id)
            return
        await super().cull_kernel_if_idle(kernel_id)


class PrivateDirsMixin:
    """Refuse (404) any path that resolves into one of the app's private folders."""

    async def prepare(self):
        result = super().prepare()  # first: Jupyter's error page needs what it sets up
        if result is not None:
            await result
        app: CasebookVoila = self.settings["voila"]
        if any(app.is_private(arg) for arg in self.path_args if arg):
            raise web.HTTPError(404)


class LocalHostOnly:
    """For a handler that is not a JupyterHandler (static files, the redirect at /): refuse
    (403) a Host header naming another machine, as JupyterHandler.prepare does for its own."""

    log = app_log

    def prepare(self):
        if not JupyterHandler.check_host(self):
            raise web.HTTPError(403)
        return super().prepare()


class CappedVoilaHandler(PrivateDirsMixin, TornadoVoilaHandler):
    """Voila's page handler, answering 503 instead of starting a kernel past the cap."""

    _ticket = False

    async def get(self, path=None):
        app: CasebookVoila = self.settings["voila"]
        held = self.kernel_manager.kernels_in_use() + app.admitting
        if app.max_kernels > 0 and held >= app.max_kernels:
            self.log.warning("Busy: %s kernels held, cap %s; refused %s",
                             held, app.max_kernels, self.request.path)
            self.set_status(503)
            self.set_header("Retry-After", "60")
            self.set_header("Cache-Control", "no-store")
            self.finish(render("busy.html.j2", limit=app.max_kernels, stylesheet=url_path_join(
                self.base_url, "voila/static/casebook.css")))
            return
        # The page shuts its kernel down on unload with a beacon carrying the _xsrf cookie;
        # Voila's page never sets that cookie, so the beacon is refused (voila#1458).
        self.xsrf_token  # noqa: B018 (reading it sets the cookie)
        # The ticket counts this page until its kernel is live and counted (first flush).
        app.admitting += 1
        self._ticket = True
        try:
            await super().get(path)
        finally:
            self._release()

    def flush(self, *args, **kwargs):
        self._release()
        return super().flush(*args, **kwargs)

    def _release(self) -> None:
        if self._ticket:
            self._ticket = False
            self.settings["voila"].admitting -= 1


class StatusHandler(JupyterHandler):
    """The kernel counts as JSON: {"kernels", "in_use", "pooled", "max_kernels"}."""

    def get(self):
        km: CasebookKernelManager = self.kernel_manager
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({
            "kernels": len(km.list_kernel_ids()),
            "in_use": km.kernels_in_use(),
            "pooled": len(km.pooled_kernel_ids()),
            "max_kernels": self.settings["voila"].max_kernels,
        }))


class CasebookVoila(Voila):
    """Voila reading only the casebook/serve/config/voila.py, with the handlers above."""

    max_kernels = Integer(0, config=True, help="Most kernels pages may hold (0: no cap).")
    home = Unicode("", config=True, help="Notebook that / redirects to; '' keeps Voila's tree.")
    private_dirs = List(Unicode(), config=True, help="Folders under root_dir never served.")
    admitting = 0  # pages admitted whose kernel is not live yet

    @default("config_file_paths")
    def _config_file_paths_default(self):
        return [str(CONFIG_DIR)]

    def setup_template_dirs(self) -> None:
        super().setup_template_dirs()
        self.template_paths.insert(0, str(TEMPLATES))  # our index.html.j2 first: no CDN
        self.static_paths.append(str(TEMPLATES / "static"))  # voila/static/casebook.css

    def is_private(self, path: str) -> bool:
        root = Path(self.root_dir).resolve()
        target = (root / path.lstrip("/")).resolve()
        return any(target.is_relative_to((root / d).resolve()) for d in self.private_dirs)

    def init_handlers(self) -> list:
        swap = {TornadoVoilaHandler: CappedVoilaHandler}
        if self.private_dirs:
            swap[AllowListFileHandler] = type(
                "PrivateAllowListFileHandler", (PrivateDirsMixin, AllowListFileHandler), {})
        handlers = []
        for pattern, handler, *rest in super().init_handlers():
            if self.home and handler in (TornadoVoilaTreeHandler, VoilaContentsHandler):
                continue  # the home notebook is the only index learners get
            handlers.append((pattern, swap.get(handler, handler), *rest))
        status = url_path_join(self.server_url, "/casebook/status")
        handlers.insert(0, (status, StatusHandler))
        if self.home:
            home = url_path_join(self.base_url, "voila/render", self.home)
            handlers.insert(0, (self.server_url, web.RedirectHandler, {"url": home}))
        return [(pattern, _host_checked(handler), *rest) for pattern, handler, *rest in handlers]


def _host_checked(handler: type) -> type:
    if issubclass(handler, JupyterHandler):
        return handler
    return type(f"LocalHostOnly{handler.__name__}", (LocalHostOnly, handler), {})


class LearnerVoila(CasebookVoila):
    """The learners' server; casebook/serve/config/voila.py sets it apart as `c.LearnerVoila`."""


class InstructorVoila(CasebookVoila):
    """The instructors' server; casebook/serve/config/voila.py sets it apart as `c.InstructorVoila`."""


ROLES = {"learner": LearnerVoila, "instructor": InstructorVoila}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m casebook.serve.servers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8866, help="learners' port (8866)")
    parser.add_argument("--instructor-port", type=int, help="instructors' port (--port + 1)")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS,
                        help="folder holding index.ipynb, cases/ and instructor/")
    parser.add_argument("--role", choices=["both", *ROLES], default="both")
    return parser


def voila_argv(role: str, port: int, notebooks: Path) -> list[str]:
    root = notebooks / "instructor" if role == "instructor" else notebooks
    return [f"--port={port}", str(root.resolve())]


def records_problem() -> str | None:
    """Why the records database (CASEBOOK_DB) cannot take answers, or None: it must be
    writable and migrated before any page opens, or every answer would fail to save."""
    from casebook.records import database

    try:
        database.check_writable(database.database_url())
        database.connect().dispose()  # creates it or brings its schema to head
    except database.StoreError as exc:
        return str(exc)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = records_problem()
    if problem:
        print(f"casebook: cannot serve, the records database is not usable: {problem}\n"
              "Fix the file's permissions, or set CASEBOOK_DB to a database the server's user "
              "can write (e.g. CASEBOOK_DB=sqlite:///$HOME/casebook.db).", file=sys.stderr)
        return 2
    if args.role != "both":
        ROLES[args.role].launch_instance(voila_argv(args.role, args.port, args.notebooks))
        return 0
    instructor_port = args.instructor_port or args.port + 1
    instructor = subprocess.Popen([
        sys.executable, "-m", "casebook.serve.servers", "--role=instructor",
        f"--port={instructor_port}", f"--notebooks={args.notebooks}"])
    try:
        LearnerVoila.launch_instance(voila_argv("learner", args.port, args.notebooks))
    finally:
        instructor.terminate()
        instructor.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
