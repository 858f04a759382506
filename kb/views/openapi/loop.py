"""The knowledge loop in kb's OpenAPI document (kb.views.api_loop): calls, knowledge gaps, root fixes
and insights. `operations()` gives the paths; the bodies are in loopbodies.
"""

from __future__ import annotations

from kb.loop import insights
from kb.loop.insights import CSV_TABLES
from kb.views.loopinput import GAP_STATES, MAX_GAPS
from kb.views.openapi.loopbodies import INPUT_SCHEMAS, SCHEMAS
from kb.views.openapi.operations import SLUG, invalid, not_found, ok, operation, path_param, query_param
from kb.views.openapi.schema import (
    STRING,
    STRINGS,
    Schema,
    array_of,
    described,
    error_response,
    obj,
    one_of_values,
    ref,
)

__all__ = ["INPUT_SCHEMAS", "SCHEMAS", "TAG", "operations"]

TAG = "loop"
NO_GAP = not_found("No such gap.")
GAP_TAKEN = {409: error_response("The gap was closed or dismissed already (`conflict`, `field`: gap; says by whom).")}
NO_ARTICLE = not_found("No such article (or one the caller may not read).")
FORMAT = query_param("format", one_of_values(["json", "csv"]), "csv: a spreadsheet (text/csv).")


def _gap_id(example: int) -> Schema:
    """The gap's id; each action's example names another gap, so that each can succeed once when fuzzed
    (tests/test_schemathesis.py): the examples of recordCall and articleFeedback make gaps 1 to 3 first."""
    return {**path_param("gap_id", {"type": "integer", "minimum": 0}, "The gap's id."), "example": example}


def _csv(response: dict[int, Schema], columns: str) -> dict[int, Schema]:
    """`response` (200), which with `format=csv` is a text/csv download instead."""
    response[200]["content"]["text/csv"] = {"schema": described(STRING, columns)}
    response[200]["headers"] = {
        "Content-Disposition": {"schema": STRING, "description": "With `format=csv`: the file name to save as."}
    }
    return response


def operations() -> dict[str, Schema]:
    return {**_calls(), **_gaps(), **_root_fixes(), **_insights()}


def _calls() -> dict[str, Schema]:
    return {
        "/calls": {
            "post": operation(
                "recordCall",
                "Record a call: the article used and how it ended, or that none helped",
                tag=TAG,
                role="any",
                write=True,
                body="CallInput",
                description="A call not solved, or one no article helped, counts towards the knowledge gap its "
                "words (or the article's title) point at; an article that keeps not solving calls is flagged to "
                "its owner.",
                responses=ok(201, "Recorded.", ref("Call")),
                errors=invalid(
                    "an unknown `outcome`; an `article` that does not exist or the caller may not read, an article "
                    "with no_article or none with another outcome; no_article without `words`; a field of the "
                    "wrong type or too long (`invalid`, `field` names it)"
                ),
            ),
        },
    }


def _gaps() -> dict[str, Schema]:
    return {
        "/gaps": {
            "get": operation(
                "listGaps",
                "The knowledge-gap queue, best first",
                tag=TAG,
                role="author",
                description="Gaps group what failed (searches with no results or no click, calls not solved or "
                "with no article, not-helpful votes) by what the customer meant, ranked by how often and how "
                'recently. `state=open` includes closed gaps that reopened (`"reopened": true`).',
                params=[
                    query_param("state", one_of_values(GAP_STATES), "open (the default), closed, dismissed or all."),
                    query_param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_GAPS}, "At most (100)."),
                ],
                responses=ok(200, "The gaps.", obj({"gaps": array_of("Gap")})),
                errors=invalid("an unknown `state` or a bad `limit` (`invalid`, `field` names it)"),
            ),
        },
        "/gaps/{gap_id}/draft": {
            "parameters": [_gap_id(3)],
            "post": operation(
                "draftForGap",
                "Turn a gap into a draft article",
                tag=TAG,
                role="author",
                write=True,
                description="The draft starts from the article template, with the customers' words under \"What "
                'the customer notices"; the gap is closed by it.',
                responses=ok(201, "The draft, and the gap it closed.", ref("GapAndArticle")),
                errors={**NO_GAP, **GAP_TAKEN},
            ),
        },
        "/gaps/{gap_id}/attach": {
            "parameters": [_gap_id(1)],
            "post": operation(
                "attachGap",
                "Add a gap's wordings to an article that answers it",
                tag=TAG,
                role="author",
                write=True,
                body="AttachInput",
                description="The customers' words join the article's \"What the customer notices\" as a new "
                "revision (nothing earlier is lost); the gap is closed by it, and reopens if its searches keep "
                "failing once the article is published.",
                responses=ok(200, "The gap, and the article as it is now.", ref("GapAndArticle")),
                errors={
                    **invalid("no `article`, or one that does not exist (`invalid`, `field`: article)"),
                    **NO_GAP,
                    409: error_response(
                        "The gap was closed or dismissed already, or the article was saved by someone else at the "
                        "same moment (`conflict`)."
                    ),
                },
            ),
        },
        "/gaps/{gap_id}/dismiss": {
            "parameters": [_gap_id(2)],
            "post": operation(
                "dismissGap",
                "Dismiss a gap, saying why",
                tag=TAG,
                role="author",
                write=True,
                body="DismissInput",
                responses=ok(200, "Dismissed.", obj({"gap": ref("Gap")})),
                errors={**invalid("an empty or long `reason` (`invalid`, `field`: reason)"), **NO_GAP, **GAP_TAKEN},
            ),
        },
    }


def _root_fixes() -> dict[str, Schema]:
    return {
        "/cause-categories": {
            "get": operation(
                "causeCategories",
                "The cause categories a root fix chooses from",
                tag=TAG,
                role="any",
                description="Admins change them with PUT /settings/cause_categories.",
                responses=ok(200, "The categories.", obj({"causes": STRINGS})),
            ),
        },
        "/articles/{slug}/root-fix": {
            "parameters": [SLUG],
            "get": operation(
                "getRootFix",
                "An article's root-fix record",
                tag=TAG,
                role="any",
                responses=ok(200, "The record (version 0 with empty texts: none recorded yet).", ref("RootFix")),
                errors=NO_ARTICLE,
            ),
            "put": operation(
                "putRootFix",
                "Save an article's root-fix record",
                tag=TAG,
                role="author",
                write=True,
                body="RootFixInput",
                description="The whole record is sent: a text left out is saved empty. Every save is kept "
                "(getRootFixHistory).",
                responses=ok(200, "Saved.", ref("RootFix")),
                errors={
                    **invalid(
                        "a `cause` not on the list, an unknown `status`, a `link` that is not a web address, "
                        '`resolved` without status "fixed", a field of the wrong type or too long (`invalid`, '
                        "`field` names it)"
                    ),
                    **NO_ARTICLE,
                    409: error_response(
                        "The record was saved by someone else after `version`: nothing was saved.",
                        ref("RootFixConflict"),
                    ),
                },
            ),
        },
        "/articles/{slug}/root-fix/history": {
            "parameters": [SLUG],
            "get": operation(
                "getRootFixHistory",
                "Every saved state of an article's root fix, newest first",
                tag=TAG,
                role="author",
                responses=ok(200, "The saved states.", obj({"changes": array_of("RootFixChange")})),
                errors=NO_ARTICLE,
            ),
        },
    }


def _insights() -> dict[str, Schema]:
    day = {"type": "string", "format": "date"}
    tables = ", ".join(f"`{t}`" for t in CSV_TABLES)
    report = _csv(ok(200, "The figures and tables.", ref("Insights")), f"With `table`: that table's rows ({tables}).")
    board = _csv(
        ok(200, "Most calls first.", obj({"articles": array_of("RecurringProblem")})),
        "One row per article: slug, title, calls, calls_per_week (space-separated, oldest first), trend, "
        "fix_status, fixed_at, before, after.",
    )
    return {
        "/insights": {
            "get": operation(
                "insights",
                "The insights dashboard's figures for a date range",
                tag=TAG,
                role="author",
                description=f"Whole UTC days, both ends included; the last {insights.DEFAULT_DAYS} days by default, "
                f"at most {insights.MAX_RANGE_DAYS}.",
                params=[
                    query_param("from", day, "The first day (YYYY-MM-DD)."),
                    query_param("to", day, "The last day (YYYY-MM-DD; today by default)."),
                    FORMAT,
                    query_param("table", one_of_values(CSV_TABLES), "With `format=csv`: the table to download."),
                ],
                responses=report,
                errors=invalid(
                    "a `from` or `to` that is not a date, `from` after `to` or a range too long; an unknown "
                    "`format`; with `format=csv`, no or an unknown `table` (`invalid`, `field` names it)"
                ),
            ),
        },
        "/insights/recurring": {
            "get": operation(
                "recurringProblems",
                "The recurring-problems board",
                tag=TAG,
                role="author",
                description="Articles ranked by the calls linked to them per week, with the trend; once a root "
                "fix is fixed, calls per week before and after its date.",
                params=[FORMAT],
                responses=board,
                errors=invalid("an unknown `format` (`invalid`)"),
            ),
        },
    }
