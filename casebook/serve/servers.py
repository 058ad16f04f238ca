"""Serving the casebook with Voila: learners and instructors apart, kernels bounded.

`casebook serve` (what `make serve` runs; it calls `main` here) starts two Voila servers on 127.0.0.1:
the learners' one on --port, rooted at notebooks/ with notebooks/instructor/ refused, and the
instructors' one on --port + 1, rooted at notebooks/instructor/. Their settings (pool, cap,
culling timeouts, each overridable by a CASEBOOK_* variable) are in casebook/serve/config/voila.py; this
module holds only what Voila has no setting for:

- a cap on the kernels held by pages: past it a page load gets a 503 "busy" page instead of
  one more kernel (Voila has no such limit: voila-dashboards/voila#617);
- a limit per browser (a `casebook_client` cookie): past it the browser's oldest kernel with no
  page connected is shut down, so one client's reload loop cannot fill the cap for the room;
- culling of kernels whose page never opened its websocket (a script or a refresh storm),
  after a short timeout counted from the moment a page was handed the kernel, besides
  jupyter_server's usual idle culling (casebook/serve/kernels.py);
- Voila's static bundles cached by browsers (Voila sends them uncached);
- `GET /casebook/status`, the kernel counts as JSON, for instructors and tests;
- the Host check (config/voila.py turns it on) on Voila's static-file handlers too, which are
  not Jupyter's and so skip it.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from jupyter_server.base.handlers import FileFindHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.log import app_log
from traitlets import Integer, List, Unicode, default
from voila.app import Voila
from voila.static_file_handler import (
    AllowListFileHandler,
    MultiStaticFileHandler,
    TemplateStaticFileHandler,
)
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from casebook.content.roots import notebooks_root
from casebook.serve.kernels import CasebookKernelManager
from casebook.serve.static import (
    CachedFileFindHandler,
    CachedMultiStaticFileHandler,
    CachedTemplateStaticFileHandler,
)
from casebook.ui.render import render

CONFIG_DIR = Path(__file__).resolve().parent / "config"
TEMPLATES = CONFIG_DIR / "share" / "voila" / "templates" / "casebook"  # also `casebook lab`'s
NOTEBOOKS = notebooks_root()  # the checkout's notebooks/, the wheel's copy, or $CASEBOOK_NOTEBOOKS

CLIENT_COOKIE = "casebook_client"  # one browser's id, for the per-client limit
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


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


class _HandingOver:
    """The kernel manager as one page handler sees it: whichever kernel the page is given
    (from a pool, or started for it) is reported to the manager with the page's client."""

    def __init__(self, km: CasebookKernelManager, handler: CappedVoilaHandler):
        self._km, self._handler = km, handler

    def __getattr__(self, name: str):
        return getattr(self._km, name)

    def _handed(self, kernel_id: str) -> None:
        self._km.handed_over(kernel_id, self._handler._client)
        self._handler._release()  # from now on the kernel itself counts against the cap

    async def get_rendered_notebook(self, *args, **kwargs):
        task, cache, kernel_id = await self._km.get_rendered_notebook(*args, **kwargs)
        self._handed(kernel_id)
        return task, cache, kernel_id

    async def start_kernel(self, *args, **kwargs) -> str:
        kernel_id = await self._km.start_kernel(*args, **kwargs)
        self._handed(kernel_id)
        return kernel_id


class CappedVoilaHandler(PrivateDirsMixin, TornadoVoilaHandler):
    """Voila's page handler, answering 503 instead of starting a kernel past the cap, and
    shedding a client's oldest unconnected kernel past its own limit (a reload loop)."""

    _ticket = False
    _client = ""

    @property
    def kernel_manager(self):
        return _HandingOver(self.settings["kernel_manager"], self)

    async def get(self, path=None):
        app: CasebookVoila = self.settings["voila"]
        km: CasebookKernelManager = self.settings["kernel_manager"]
        self._client = self._client_id()
        if app.client_kernels > 0 and not await self._within_client_limit(app, km):
            self.log.warning("Busy: client holds %s connected pages; refused %s",
                             app.client_kernels, self.request.path)
            return self._busy(app, "client")
        held = km.kernels_in_use() + app.admitting
        if app.max_kernels > 0 and held >= app.max_kernels:
            self.log.warning("Busy: %s kernels held, cap %s; refused %s",
                             held, app.max_kernels, self.request.path)
            return self._busy(app, "full")
        # The page shuts its kernel down on unload with a beacon carrying the _xsrf cookie;
        # Voila's page never sets that cookie, so the beacon is refused (voila#1458).
        self.xsrf_token  # noqa: B018 (reading it sets the cookie)
        # The ticket counts this page until it is handed its kernel, which counts from then.
        app.admitting += 1
        app.admitting_by[self._client] = app.admitting_by.get(self._client, 0) + 1
        self._ticket = True
        try:
            await super().get(path)
        finally:
            self._release()

    def _client_id(self) -> str:
        """This browser's id from its cookie, or a new one set now (the cookie is untrusted:
        a malformed one is replaced)."""
        client = self.get_cookie(CLIENT_COOKIE, "")
        if not CLIENT_ID.fullmatch(client):
            client = secrets.token_urlsafe(16)
            self.set_cookie(CLIENT_COOKIE, client, path=self.base_url, httponly=True,
                            samesite="Lax")
        return client

    async def _within_client_limit(self, app: CasebookVoila, km: CasebookKernelManager) -> bool:
        """Room for one more page of this client, once its oldest unconnected kernel is shed;
        False when every kernel it holds has its page connected."""
        while len(km.client_kernels(self._client)) + app.admitting_by.get(self._client, 0) \
                >= app.client_kernels:
            oldest = km.oldest_unconnected(self._client)
            if oldest is None:
                return False
            self.log.info("Client over %s pages: shutting down its unconnected kernel %s",
                          app.client_kernels, oldest)
            try:
                await km.shutdown_kernel(oldest, now=True)
            except (web.HTTPError, KeyError, RuntimeError) as exc:  # gone meanwhile
                self.log.info("Kernel %s already gone: %s", oldest, exc)
                km.forget({oldest})
        return True

    def _busy(self, app: CasebookVoila, why: str) -> None:
        self.set_status(503)
        self.set_header("Retry-After", str(app.busy_retry))
        self.set_header("Cache-Control", "no-store")
        self.finish(render("busy.html.j2", why=why, limit=app.max_kernels,
                           pages=app.client_kernels, retry=app.busy_retry,
                           stylesheet=url_path_join(self.base_url, "voila/static/casebook.css")))

    def _release(self) -> None:
        if self._ticket:
            self._ticket = False
            app: CasebookVoila = self.settings["voila"]
            app.admitting -= 1
            app.admitting_by[self._client] -= 1
            if not app.admitting_by[self._client]:
                del app.admitting_by[self._client]


class StatusHandler(JupyterHandler):
    """The kernel counts as JSON: {"kernels", "in_use", "pooled", "starting", "max_kernels"}
    ("starting": kernels a pool is still starting, counted in "kernels" only)."""

    def get(self):
        km: CasebookKernelManager = self.kernel_manager
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({
            "kernels": len(km.list_kernel_ids()),
            "in_use": km.kernels_in_use(),
            "pooled": len(km.pooled_kernel_ids()),
            "starting": len(km.starting_for_pools()),
            "max_kernels": self.settings["voila"].max_kernels,
        }))


class CasebookVoila(Voila):
    """Voila reading only the casebook/serve/config/voila.py, with the handlers above."""

    max_kernels = Integer(0, config=True, help="Most kernels pages may hold (0: no cap).")
    client_kernels = Integer(
        0, config=True, help="Most kernels one browser (its casebook_client cookie) may hold; "
        "past it its oldest kernel with no page connected is shut down, or if every one has "
        "its page connected the request gets the busy page (0: no limit).")
    busy_retry = Integer(15, config=True, help="Seconds before the busy page retries by itself "
                         "(doubled at each retry, up to eight times as long).")
    home = Unicode("", config=True, help="Notebook that / redirects to; '' keeps Voila's tree.")
    private_dirs = List(Unicode(), config=True, help="Folders under root_dir never served.")
    admitting = 0  # pages admitted whose kernel is not live yet

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.admitting_by: dict[str, int] = {}  # the same, per client

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
        swap = {TornadoVoilaHandler: CappedVoilaHandler, FileFindHandler: CachedFileFindHandler,
                MultiStaticFileHandler: CachedMultiStaticFileHandler,
                TemplateStaticFileHandler: CachedTemplateStaticFileHandler}
        if self.private_dirs:
            swap[AllowListFileHandler] = type(
                "PrivateAllowListFileHandler", (PrivateDirsMixin, AllowListFileHandler), {})
        handlers = []
        for pattern, handler, *rest in super().init_handlers():
            if self.home and handler in (TornadoVoilaTreeHandler, VoilaContentsHandler):
                continue  # the home notebook is the only index learners get
            if handler is FileFindHandler and rest:  # labextensions: Voila says no-cache
                rest = [{k: v for k, v in rest[0].items() if k != "no_cache_paths"}, *rest[1:]]
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
