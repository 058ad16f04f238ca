"""The instructor dashboard: filters over the records (dates, teaching session) and, for what
they select, the tables and plots of `casebook.dashboard.analytics`, under the notice and the content's
review status. `dashboard_app()` is what notebooks/instructor/dashboard.ipynb calls.
"""

from __future__ import annotations

import logging
from datetime import date

import ipywidgets as w
import pandas as pd

from casebook.content.loading import Library, load_library
from casebook.dashboard import analytics as d
from casebook.records import frames as records
from casebook.records import sessions as session_records
from casebook.records import store
from casebook.records.database import Engine
from casebook.ui.markup import error_html, notice_html, review_text
from casebook.ui.render import render

log = logging.getLogger(__name__)

ALL, SELF_STUDY = "all", "self-study"


def sessions(engine: Engine) -> list[tuple[str, str]]:
    """(label, session id) of every teaching session, newest first, for the session filter."""
    return [(f"Session {r.join_code}: {r.case_id}, {r.created_at:%Y-%m-%d}", r.id)
            for r in session_records.listing(engine)]


def load(engine: Engine, since: date | None, until: date | None, session: str) -> pd.DataFrame:
    """The final answers in the dates (both days included) and the session chosen."""
    subs = records.submissions(engine, since=since, until=until,
                               session=None if session in (ALL, SELF_STUDY) else session)
    if session == SELF_STUDY:
        subs = subs[subs["session_id"].isna()]
    return d.answers(subs)


def review_line(library: Library) -> str:
    return "; ".join(sorted({review_text(g.review) for g in library.guidelines.values()}
                            | {review_text(c.review) for c in library.cases.values()})) or "no content"


def _table(frame: pd.DataFrame, empty: str) -> str:
    if frame.empty:
        return render("dashboard/empty.html.j2", text=empty)
    return frame.to_html(index=False, escape=True, float_format=lambda x: f"{x:.2f}",
                         border=0, classes="cb-table")


def section_html(title: str, fig, alt: str, table: pd.DataFrame, empty: str) -> str:
    plot = d.figure_html(fig, alt) if fig is not None else ""
    return render("dashboard/section.html.j2", title=title, plot_html=plot,
                  table_html=_table(table, empty))


class Dashboard(w.VBox):
    """Filters and results; `engine` (the records) is the one public value, with the library
    that names cases, stages and options."""

    def __init__(self, engine: Engine, library: Library):
        super().__init__()
        self.engine, self._library = engine, library
        self._since = w.DatePicker(description="From", value=None)
        self._until = w.DatePicker(description="To", value=None)
        self._session = w.Dropdown(description="Records", value=ALL, options=[
            ("All records", ALL), ("Self-study only", SELF_STUDY)])
        self._results = w.HTML()
        self._results.add_class("cb-dashboard")
        self._error = w.HTML()
        self._error.add_class("cb-error")
        self._error.layout.display = "none"
        notice = w.HTML(notice_html(review_line(library)))
        notice.add_class("cb-notice")
        self.children = [notice, w.HTML(render("dashboard/heading.html.j2")),
                         w.HBox([self._since, self._until, self._session]),
                         self._error, self._results]
        try:
            self._session.options = [*self._session.options, *sessions(engine)]
        except store.StoreError as exc:
            self._fail(exc)
        for control in (self._since, self._until, self._session):
            control.observe(lambda _change: self.refresh(), names="value")
        self.refresh()

    def _fail(self, exc: Exception) -> None:
        log.warning("dashboard: %s", exc)
        self._error.value = error_html("The records cannot be read.", [str(exc)])
        self._error.layout.display = None

    def refresh(self) -> None:
        """Recompute every table and figure for the filters as they are now."""
        try:
            final = load(self.engine, self._since.value, self._until.value, self._session.value)
        except store.StoreError as exc:
            self._fail(exc)
            self._results.value = ""
            return
        self._error.value = ""
        self._error.layout.display = "none"
        self._results.value = results_html(final, self._library)


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def results_html(final: pd.DataFrame, library: Library) -> str:
    """Every section for these answers: a summary, then tables with their plots."""
    people, cases = final["who"].nunique(), final["case_id"].nunique()
    lines = [render("dashboard/summary.html.j2", answers=_n(len(final), "answered stage"),
                    people=_n(people, "person", "people"), cases=_n(cases, "case"))]
    conc = d.labelled(d.concordance(final), library).sort_values(["case_id", "stage_no"])
    instead, unsafe, calib = d.chosen_instead(final), d.safety_events(final), d.calibration(final)
    sections = [
        ("Concordance per case and stage", d.concordance_figure(conc),
         "bar chart of the concordance rate per stage", conc),
        ("Most-missed decisions", None, "", d.labelled(d.most_missed(final), library)),
        ("Options most often chosen instead", d.instead_figure(instead),
         "bar chart of the options chosen instead of a recommended one",
         d.labelled(instead, library)),
        ("Safety events", d.safety_figure(unsafe), "bar chart of harmful options chosen",
         d.labelled(unsafe, library)),
        ("Confidence against correctness (calibration)", d.calibration_figure(calib),
         "bar chart of concordance per confidence level", calib),
        (f"Who may need help (≥{d.HELP_SAFETY} safety events, or mean points under "
         f"{d.HELP_SCORE} over ≥{d.HELP_MIN_STAGES} stages)", None, "", d.needs_help(final)),
    ]
    lines += [section_html(title, fig, alt, table, "None in these records.")
              for title, fig, alt, table in sections]
    return "".join(lines)


def dashboard_app() -> w.VBox:
    """The dashboard over the records in CASEBOOK_DB (or the default database)."""
    library = load_library()
    try:
        engine = store.connect()
    except store.StoreError as exc:
        log.warning("dashboard: %s", exc)
        notice, error = w.HTML(notice_html(review_line(library))), w.HTML(
            error_html("The records cannot be read.", [str(exc)]))
        notice.add_class("cb-notice")
        error.add_class("cb-error")
        return w.VBox([notice, error])
    return Dashboard(engine, library)
