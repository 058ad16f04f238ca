"""Voila's static files with a lifetime, so a class's phones fetch each bundle once.

Voila serves its scripts (voila/static, voila/templates/<t>/static) with no Cache-Control and
the widgets' bundles (voila/labextensions) with `no-cache`: every page of every learner asks
for them again. These handlers, swapped in by `casebook.serve.servers.CasebookVoila`, keep
them for STATIC_MAX_AGE: a day, so an upgrade is seen by the next day at the latest.
"""

from __future__ import annotations

from jupyter_server.base.handlers import FileFindHandler
from voila.static_file_handler import MultiStaticFileHandler, TemplateStaticFileHandler

STATIC_MAX_AGE = 86400  # seconds a browser keeps Voila's bundles and the stylesheet


class CachedStaticMixin:
    """Voila's scripts, the widgets' bundles and the stylesheet kept by the browser for
    STATIC_MAX_AGE, so a class's phones fetch them once, not on every page: Voila sends them
    with no lifetime (voila/static, voila/templates) or `no-cache` (voila/labextensions)."""

    def set_headers(self) -> None:
        super().set_headers()
        if self.get_status() == 200:
            self.set_header("Cache-Control", f"public, max-age={STATIC_MAX_AGE}")


CachedFileFindHandler = type("CachedFileFindHandler", (CachedStaticMixin, FileFindHandler), {})
CachedMultiStaticFileHandler = type(
    "CachedMultiStaticFileHandler", (CachedStaticMixin, MultiStaticFileHandler), {})
CachedTemplateStaticFileHandler = type(
    "CachedTemplateStaticFileHandler", (CachedStaticMixin, TemplateStaticFileHandler), {})
