"""The JSON shapes (and CSV rows) of calls, gaps, root fixes and the recurring-problems board, as
the API answers them.

Each shape is described in kb/views/openapi/loopbodies.py; the tests hold the two to each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kb.loop import calls, rootfix
from kb.loop.gaps import GapSummary
from kb.loop.rootfix import Recurring
from kb.models import Call, RootFix

# What GET .../root-fix answers for an article nobody recorded a root fix for: version 0, which a
# first PUT sends back.
NO_ROOT_FIX: dict[str, Any] = {
    **dict.fromkeys(rootfix.FIELDS, ""),
    "status": "proposed",
    "fixed_at": None,
    "resolved_at": None,
    "updated_at": None,
    "updated_by": None,
    "version": 0,
}


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def call_json(call: Call) -> dict:
    return {
        "id": call.id,
        "article": call.article.slug if call.article else None,
        "outcome": call.outcome.value,
        "case": call.case_ref,
        "words": call.words,
        "gap": call.gap_id,
        "created_at": _when(call.created_at),
    }


def gap_json(summary: GapSummary) -> dict:
    """A gap as the queue shows it, with what closed it (if anything did)."""
    gap = summary.gap
    return {
        "id": summary.id,
        "label": summary.label,
        "count": summary.count,
        "last_seen": _when(summary.last_seen),
        "examples": list(summary.examples),
        "sources": dict(summary.sources),
        "state": summary.state,
        "reopened": summary.is_reopened,
        "since_closed": summary.since_closed,
        "action": gap.action or None,
        "article": gap.article.slug if gap.article else None,
        "reason": gap.reason or "",
        "closed_at": _when(gap.closed_at),
        "closed_by": gap.closed_by.username if gap.closed_by else None,
    }


def usage_json(usage: calls.Usage | None) -> dict:
    """How an article was used on calls lately (no calls: zeros and null)."""
    return (usage or calls.Usage(None, 0, 0)).as_json()


def root_fix_json(record: RootFix | None) -> dict:
    return rootfix.as_json(record) or dict(NO_ROOT_FIX)


def recurring_json(item: Recurring) -> dict:
    return {
        "slug": item.article.slug,
        "title": item.article.title,
        "calls_per_week": list(item.calls_per_week),
        "trend": item.trend,
        "root_fix": rootfix.as_json(item.root_fix),
        "before": item.before,
        "after": item.after,
    }
