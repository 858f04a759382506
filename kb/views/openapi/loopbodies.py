"""The bodies of the knowledge loop's API (kb.views.api_loop) as JSON Schema: `SCHEMAS` (responses,
closed) and `INPUT_SCHEMAS` (requests, open) join the document's components. Limits and enums come
from kb.loop, which enforces them.
"""

from __future__ import annotations

from kb.loop import calls, closing, gaps, rootfix
from kb.models import GapState
from kb.views.openapi.schema import (
    BOOLEAN,
    COUNT,
    INTEGER,
    STRING,
    STRINGS,
    TEXT_OR_NULL,
    TIMESTAMP,
    TIMESTAMP_OR_NULL,
    Schema,
    described,
    error_schema,
    obj,
    one_of_values,
    ref,
    with_examples,
)

DATE: Schema = {"type": "string", "format": "date"}
RATE = described({"type": "number", "minimum": 0, "maximum": 1}, "A share from 0 to 1.")
NUMBER_OR_NULL: Schema = {"type": ["number", "null"]}
GAP_STATES = [s.value for s in GapState]
ROOT_FIX_OR_NULL: Schema = described({"oneOf": [ref("RootFix"), {"type": "null"}]}, "null: none recorded.")


def _rows(properties: dict[str, Schema]) -> Schema:
    return {"type": "array", "items": obj(properties)}


UPKEEP_ROWS = _rows(
    {"slug": STRING, "title": STRING, "owner": TEXT_OR_NULL, "review_by": TIMESTAMP_OR_NULL, "updated_at": TIMESTAMP}
)

GAP = obj(
    {
        "id": INTEGER,
        "label": described(STRING, "What it is about: its commonest wording."),
        "count": described(COUNT, f"Failures pointing at it in the last {gaps.WINDOW_DAYS} days."),
        "last_seen": TIMESTAMP_OR_NULL,
        "examples": described(STRINGS, "The customers' wordings, commonest first (personal data blanked)."),
        "sources": described(
            obj({source: COUNT for source in gaps.SOURCES}), "How many of `count` came from each kind of record."
        ),
        "state": one_of_values(GAP_STATES),
        "reopened": described(
            BOOLEAN,
            f"Closed, but its searches kept failing ({gaps.REOPEN_AFTER} times since) once the article that "
            'closed it was published: listed as "open" again.',
        ),
        "since_closed": described(COUNT, "Failures after it was closed."),
        "action": described(
            {"type": ["string", "null"], "enum": ["draft", "attach", "dismiss", None]},
            "What closed it (null: nothing).",
        ),
        "article": described(TEXT_OR_NULL, "The slug of the article that closed it."),
        "reason": described(STRING, "Why it was dismissed."),
        "closed_at": TIMESTAMP_OR_NULL,
        "closed_by": TEXT_OR_NULL,
    }
)

ROOT_FIX = obj(
    {
        "cause": described(STRING, "One of the cause categories (GET /cause-categories), or empty."),
        "fix": described(STRING, "What would stop the problem recurring."),
        "owner": described(STRING, "Who owns the fix: a person or team, maybe outside kb."),
        "status": one_of_values(rootfix.STATUSES),
        "link": described(STRING, "Where the work is tracked (http or https), or empty."),
        "fixed_at": described(TIMESTAMP_OR_NULL, 'When it was first marked "fixed".'),
        "resolved_at": described(TIMESTAMP_OR_NULL, "When the article was marked resolved at the root."),
        "updated_at": TIMESTAMP_OR_NULL,
        "updated_by": TEXT_OR_NULL,
        "version": described(INTEGER, "Send it back with a change (0: nothing recorded yet)."),
    }
)

INSIGHTS = obj(
    {
        "from": DATE,
        "to": DATE,
        "searches": COUNT,
        "zero_result_searches": COUNT,
        "zero_result_rate": RATE,
        "calls": COUNT,
        "outcomes": obj({outcome: COUNT for outcome in calls.OUTCOMES}),
        "link_rate": described(RATE, "Calls with an article linked over calls recorded."),
        "helpful": COUNT,
        "not_helpful": COUNT,
        "overdue_count": COUNT,
        "review_backlog_count": COUNT,
        "stale_count": described(COUNT, "Published articles neither used on a call nor opened from a search."),
        "per_day": _rows({"day": DATE, "searches": COUNT, "zero_result": COUNT, "calls": COUNT}),
        "top_queries": _rows({"query": STRING, "count": COUNT, "zero_result": COUNT}),
        "top_gaps": _rows({"id": INTEGER, "label": STRING, "count": COUNT, "last_seen": TIMESTAMP_OR_NULL}),
        "most_used": _rows({"slug": STRING, "title": STRING, "calls": COUNT, "solved": COUNT, "not_solved": COUNT}),
        "helpfulness": _rows({"slug": STRING, "title": STRING, "helpful": COUNT, "not_helpful": COUNT}),
        "overdue": described(UPKEEP_ROWS, "Published articles past their review-by date."),
        "review_backlog": described(UPKEEP_ROWS, "Articles waiting in review."),
        "stale": UPKEEP_ROWS,
    }
)

SCHEMAS: dict[str, Schema] = {
    "Call": obj(
        {
            "id": INTEGER,
            "article": described(TEXT_OR_NULL, "The slug of the article used (null: no article helped)."),
            "outcome": one_of_values(calls.OUTCOMES),
            "case": described(STRING, "The case or ticket reference."),
            "words": described(STRING, "The customer's words, personal data blanked."),
            "gap": described({"type": ["integer", "null"]}, "The knowledge gap a failed call counts towards."),
            "created_at": TIMESTAMP,
        }
    ),
    "CallUsage": obj(
        {
            "last_used": described(TIMESTAMP_OR_NULL, "The last call the article was used on."),
            f"calls_{calls.RECENT_DAYS}d": COUNT,
            f"not_solved_{calls.RECENT_DAYS}d": COUNT,
        }
    ),
    "Gap": GAP,
    "GapAndArticle": obj({"gap": ref("Gap"), "article": ref("Article")}),
    "RootFix": ROOT_FIX,
    "RootFixChange": obj({"id": INTEGER, "created_at": TIMESTAMP, "root_fix": ref("RootFix")}),
    "RootFixConflict": error_schema(
        "conflict",
        {"field": {"const": "version"}, "current_version": described(INTEGER, "The version to base a retry on.")},
    ),
    "RecurringProblem": obj(
        {
            "slug": STRING,
            "title": STRING,
            "calls_per_week": described(
                {"type": "array", "items": COUNT},
                f"Calls linked to it in each of the last {rootfix.BOARD_WEEKS} weeks, oldest first.",
            ),
            "trend": one_of_values(["rising", "falling", "steady"]),
            "root_fix": ROOT_FIX_OR_NULL,
            "before": described(NUMBER_OR_NULL, "Once fixed: calls per week in the weeks before the fix date."),
            "after": described(NUMBER_OR_NULL, "Once fixed: calls per week since the fix date."),
        }
    ),
    "Insights": INSIGHTS,
}

INPUT_SCHEMAS: dict[str, Schema] = {
    "CallInput": with_examples(
        obj(
            {
                "article": described(
                    {"type": ["string", "null"]},
                    "The slug of the article used (an old slug of a renamed one works too); null with no_article.",
                ),
                "outcome": one_of_values(calls.OUTCOMES),
                "case": described({**STRING, "maxLength": calls.MAX_CASE}, "A case or ticket reference (optional)."),
                "words": described(
                    {**STRING, "maxLength": calls.MAX_WORDS * 2},
                    "What the customer said (required with no_article); e-mail addresses and numbers are blanked.",
                ),
            },
            required=["outcome"],
            closed=False,
        ),
        {"article": "printer-shows-offline", "outcome": "solved", "case": "INC-1042"},
        {"article": None, "outcome": "no_article", "case": "INC-1043", "words": "scanner sends empty pages"},
        {"article": "printer-shows-offline", "outcome": "not_solved", "words": "printer offline after the update"},
    ),
    "AttachInput": with_examples(
        obj({"article": described(STRING, "The slug of the article that answers the gap.")}, closed=False),
        {"article": "printer-shows-offline"},
    ),
    "DismissInput": with_examples(
        obj({"reason": {**STRING, "pattern": r"\S", "maxLength": closing.MAX_REASON}}, closed=False),
        {"reason": "A one-off: the customer's own router, not ours to document."},
    ),
    "RootFixInput": with_examples(
        obj(
            {
                **{name: {**STRING, "maxLength": most} for name, most in rootfix.FIELDS.items()},
                "status": one_of_values(rootfix.STATUSES),
                "resolved": described(BOOLEAN, 'Resolved at the root: only with status "fixed".'),
                "version": described(
                    {"type": ["integer", "null"], "minimum": 0, "maximum": 2**31 - 1},
                    "The record's version as read (0: none yet); a record saved since is refused. Absent: not checked.",
                ),
            },
            required=[],
            closed=False,
        ),
        {
            "cause": "product defect",
            "fix": "Firmware 2.1 keeps the printer on the network after sleep.",
            "owner": "Printer team",
            "status": "accepted",
            "link": "https://tracker.example.com/PRN-42",
        },
    ),
}
