"""The insights pages for authors and admins: the dashboard, the recurring problems and the
root-fix form (the gap queue is in kb.views.insights_gaps, on this same blueprint).

The figures are kb.loop's; this module picks the date range, draws the charts with kb.charts
(server-side SVG, each beside a table of the same figures) and serves every table as CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from kb import charts, store
from kb.auth import role_required
from kb.db import get_session
from kb.loop import LoopError, insights, rootfix
from kb.models import Role, User
from kb.store import FieldError
from kb.views import agent, loopforms
from kb.views.articleinput import RequestError

bp = Blueprint("insights", __name__, url_prefix="/insights")

ON_DASHBOARD = 10  # recurring problems shown on the dashboard; the board has the rest
_LISTED = (("title", "Article"), ("owner", "Owner"))
# The dashboard's tables: CSV name, heading, the columns shown (key, label) and a note under the heading.
DASHBOARD_TABLES: tuple[tuple[str, str, tuple[tuple[str, str], ...], str], ...] = (
    ("top_queries", "Top queries", (("query", "Query"), ("count", "Searches"), ("zero_result", "Found nothing")), ""),
    (
        "top_gaps",
        "Top knowledge gaps",
        (("label", "Gap"), ("count", "Failures"), ("last_seen", "Last seen")),
        "Open gaps with failures in the range; act on them in the gap queue.",
    ),
    (
        "most_used",
        "Most used articles",
        (("title", "Article"), ("calls", "Calls"), ("solved", "Solved"), ("not_solved", "Not solved")),
        "",
    ),
    (
        "helpfulness",
        "Helpfulness",
        (("title", "Article"), ("helpful", "Helpful"), ("not_helpful", "Not helpful")),
        'Articles voted on in the range, the most "not helpful" first.',
    ),
    ("overdue", "Overdue for review", (*_LISTED, ("review_by", "Review by")), ""),
    ("review_backlog", "Waiting for review", (*_LISTED, ("updated_at", "Updated")), ""),
    (
        "stale",
        "Not used in the range",
        (*_LISTED, ("updated_at", "Updated")),
        "Published articles no call used and no search opened: still needed?",
    ),
)


@bp.before_request
@role_required(Role.AUTHOR)
def _authors_and_admins() -> None:
    """Every page here is for authors and admins (admins hold every role)."""


def me() -> User:
    """The signed-in author, as kb.loop records them (not flask-login's proxy)."""
    return current_user._get_current_object()


@dataclass(frozen=True)
class Table:
    """A dashboard table: its CSV name, heading, columns (key, label) and rows."""

    name: str
    title: str
    columns: tuple[tuple[str, str], ...]
    rows: list[dict[str, Any]]
    note: str = ""


@dataclass(frozen=True)
class Chart:
    svg: Markup
    frame: charts.Frame


# --- the dashboard -------------------------------------------------------------------------------


def _range() -> tuple[insights.Range, FieldError | None]:
    """The range asked for, or the default one and what was wrong with the dates sent."""
    try:
        return insights.range_of(request.args.get("from"), request.args.get("to")), None
    except LoopError as bad:
        return insights.range_of(None, None), loopforms.error_of(bad)


@bp.route("/")
def dashboard():
    """Where knowledge is missing, which problems recur and whether the knowledge is used, for a range."""
    session = get_session()
    span, error = _range()
    found = current_app.extensions["kb.insights"].figures(session, span)
    page = render_template(
        "insights/dashboard.html",
        found=found,
        span=span,
        span_args={"from": span.first.isoformat(), "to": span.last.isoformat()},
        errors=[error] if error else [],
        values=request.args if error else {},
        outcome_labels=loopforms.OUTCOME_LABELS,
        charts=_charts(found),
        tables=_tables(found),
        board=rootfix.recurring(session, limit=ON_DASHBOARD),
        statuses=loopforms.STATUS_LABELS,
    )
    return page, 400 if error else 200


def _charts(found: insights.Insights) -> dict[str, Chart]:
    """Searches and zero-result searches per day as lines, calls by outcome as bars."""
    days = [(date.fromisoformat(d["day"]), d) for d in found.per_day]
    span = f"from {found.range.first} to {found.range.last}"
    searches = charts.Frame("Searches per day", "Day", "Searches", summary=f"{found.searches} searches {span}")
    zero = charts.Frame(
        "Searches with no results per day",
        "Day",
        "Zero-result searches",
        summary=f"{found.zero_result_searches} of {found.searches} searches found nothing {span}",
    )
    outcomes = charts.Frame("Calls by outcome", "Outcome", "Calls", summary=f"{found.calls} calls recorded {span}")
    bars = [(loopforms.OUTCOME_LABELS[o], n) for o, n in found.outcomes.items()]
    return {
        "searches": Chart(charts.line_chart([(d, row["searches"]) for d, row in days], searches), searches),
        "zero_result": Chart(charts.line_chart([(d, row["zero_result"]) for d, row in days], zero), zero),
        "outcomes": Chart(charts.bar_chart(bars, outcomes), outcomes),
    }


def _tables(found: insights.Insights) -> list[Table]:
    """The dashboard's tables in the order shown, each with the rows kb.loop.insights computed."""
    return [Table(name, title, columns, found.tables[name], note) for name, title, columns, note in DASHBOARD_TABLES]


# --- CSV downloads -------------------------------------------------------------------------------


@bp.route("/<name>.csv")
def table_csv(name: str):
    """One table of the dashboard (or the recurring-problems board) as CSV, for the range asked for."""
    if name not in (*insights.CSV_TABLES, "recurring"):
        abort(404)
    span, error = _range()
    if error:
        raise RequestError(error.field, error.message)
    session = get_session()
    if name == "recurring":
        text = rootfix.board_csv(rootfix.recurring(session))
    else:
        text = insights.table_csv(current_app.extensions["kb.insights"].figures(session, span), name)
    filename = f"kb-{name.replace('_', '-')}" + ("" if name == "recurring" else f"-{span.first}-{span.last}")
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'}
    )


# --- the recurring problems ----------------------------------------------------------------------


@bp.route("/recurring")
def recurring():
    """Articles ranked by the calls linked to them per week, with their trend and root fix."""
    board = rootfix.recurring(get_session())
    return render_template(
        "insights/recurring.html",
        board=[(item, _weekly_chart(item)) for item in board],
        weeks=rootfix.BOARD_WEEKS,
        statuses=loopforms.STATUS_LABELS,
    )


def _weekly_chart(item: rootfix.Recurring) -> Markup:
    """A small bar chart of the article's calls per week, oldest first."""
    frame = charts.Frame(
        f"Calls per week with {item.article.title}",
        "Weeks, oldest first",
        "Calls",
        summary=", ".join(str(n) for n in item.calls_per_week),
        width=260,
        height=140,
    )
    return charts.bar_chart([(str(n), calls) for n, calls in enumerate(item.calls_per_week, start=1)], frame)


# --- the article's root fix ----------------------------------------------------------------------


@bp.route("/root-fix/<slug>", methods=["POST"])
def root_fix(slug: str):
    """The article page's root-fix form: saved, or the page again with the author's text and what is wrong."""
    session = get_session()
    article = store.find_by_slug(session, slug)
    if article is None:
        abort(404)
    data = loopforms.root_fix_input(request.form)
    try:
        rootfix.save(session, article, data, user=me(), based_on=loopforms.version_field(request.form))
    except LoopError as bad:
        session.rollback()
        form = {**data, "version": request.form.get("version", "0")}
        error = loopforms.error_of(bad)
        if bad.status == 409:  # saving again now replaces the newer record: a deliberate choice
            saved = rootfix.of(session, article)
            form["version"] = saved.version if saved else 0
            error = FieldError(
                "version", f"{bad.message}. Your text is below and the saved record above: save again to replace it"
            )
        return agent.article_page(article, status=bad.status, root_fix_form=form, errors=[error])
    session.commit()
    flash("Root fix saved: the article and the recurring-problems board show it.", "info")
    return redirect(url_for("agent.article", slug=slug, _anchor="root-fix"), 303)
