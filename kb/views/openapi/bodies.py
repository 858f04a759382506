"""The request and response bodies of kb's JSON API, as JSON Schema (components/schemas).

Responses are closed (see `obj`), so a field added to a view without being described here fails the
tests; limits and enums come from the code that enforces them (kb.store, kb.vocabulary, kb.models).
"""

from __future__ import annotations

from kb import auth, feedback, limits, store, tokens, vocabulary
from kb.models import Audience, FlagReason, Role, Status
from kb.search import SUGGEST_MAX_CHARS
from kb.views.openapi.schema import (
    BOOLEAN,
    CHANGE,
    COUNT,
    ERROR_SCHEMAS,
    INTEGER,
    NUMBER,
    STRING,
    STRINGS,
    TEXT_OR_NULL,
    TIMESTAMP,
    TIMESTAMP_OR_NULL,
    URL,
    Schema,
    array_of,
    described,
    obj,
    one_of_values,
    ref,
    with_examples,
)

# The default limits (configurable per instance; see kb.limits).
_LIMIT = limits.DEFAULT_LIMITS

AUDIENCES = [a.value for a in Audience]
STATUSES = [s.value for s in Status]
ROLES = [r.value for r in Role]

HIT = obj(
    {
        "slug": STRING,
        "title": STRING,
        "summary": STRING,
        "snippet": described(STRING, "HTML: the best-matching passage, matched words in <mark>."),
        "section": described(STRING, "The heading of the section the snippet comes from."),
        "anchor": described(STRING, "That section's anchor in the article page (may be empty)."),
        "tags": STRINGS,
        "product": STRING,
        "audience": STRING,
        "status": STRING,
        "updated": STRING,
        "verified": TEXT_OR_NULL,
        "verified_by": TEXT_OR_NULL,
        "review_overdue": described(BOOLEAN, "Past its review-by date: the agent should double-check it."),
        "score": NUMBER,
        "weak": described(BOOLEAN, "A weak match: show it below the confident results."),
        "url": URL,
    }
)

SUGGESTION = obj(
    {
        "slug": STRING,
        "title": STRING,
        "summary": STRING,
        "url": URL,
        "passage": described(
            obj(
                {
                    "heading": STRING,
                    "anchor": STRING,
                    "html": described(STRING, "HTML: the passage, the message's words in <mark>."),
                }
            ),
            "The section that matches the message best, by its words and its meaning.",
        ),
        "why": obj(
            {
                "matched": described(STRINGS, "The message's telling words the article holds."),
                "similar_meaning": described(BOOLEAN, "Found more by similar meaning than by shared words."),
            }
        ),
        "score": NUMBER,
        "weak": described(BOOLEAN, "A weak match: show it below the confident results."),
    }
)

SEARCH_PAGE = obj(
    {
        "query": STRING,
        "total": described(COUNT, "How many articles match (a lower bound when `total_exact` is false)."),
        "total_exact": BOOLEAN,
        "took_ms": NUMBER,
        "suggestion": described(TEXT_OR_NULL, 'A corrected query to offer as "Did you mean ...".'),
        "facets": described(
            {
                "type": "object",
                "additionalProperties": {"type": "array", "items": obj({"value": STRING, "count": COUNT})},
            },
            "Counts per product, tag and audience among the best matches.",
        ),
        "results": array_of("SearchHit"),
    }
)

ARTICLE_SUMMARY_FIELDS: dict[str, Schema] = {
    "slug": STRING,
    "title": STRING,
    "summary": STRING,
    "tags": STRINGS,
    "product": STRING,
    "audience": one_of_values(AUDIENCES),
    "status": one_of_values(STATUSES),
    "version": described(INTEGER, "Send it back with an update: a save based on an older version is refused."),
    "created_at": TIMESTAMP,
    "created_by": TEXT_OR_NULL,
    "updated_at": TIMESTAMP,
    "updated_by": TEXT_OR_NULL,
    "verified_at": TIMESTAMP_OR_NULL,
    "verified_by": TEXT_OR_NULL,
    "owner": described(TEXT_OR_NULL, "Who answers for the article being right."),
    "review_by": described(TIMESTAMP_OR_NULL, "When a published article is next due a check."),
    "review_overdue": BOOLEAN,
    "url": URL,
}

ARTICLE_FIELDS: dict[str, Schema] = {
    **ARTICLE_SUMMARY_FIELDS,
    "extra": described({"type": "object"}, "Front-matter keys kb keeps without using them."),
    "markdown": STRING,
    "html": described(STRING, "The Markdown rendered and sanitized."),
}

ARTICLE = obj(
    {
        **ARTICLE_FIELDS,
        "golden_warnings": described(STRINGS, "For authors: golden queries this article's saves pushed out."),
        "checks": described(ref("Checks"), "For authors: the content standard's findings and score."),
        "calls": described(ref("CallUsage"), "GET /articles/<slug>: how it was used on calls lately."),
        "root_fix": described(
            {"oneOf": [ref("RootFix"), {"type": "null"}]}, "GET /articles/<slug>: its root-fix record (null: none)."
        ),
    },
    required=list(ARTICLE_FIELDS),
)

ARTICLE_INPUT_FIELDS: dict[str, Schema] = {
    "title": described(
        {**STRING, "minLength": 1, "maxLength": _LIMIT["MAX_TITLE_CHARS"]}, "Required for a new article."
    ),
    "slug": described(
        {**STRING, "maxLength": store.MAX_SLUG, "pattern": f"^$|{store.SLUG_RE.pattern}"},
        "Lowercase letters, digits and single hyphens; made from the title when empty.",
    ),
    "summary": {**STRING, "maxLength": _LIMIT["MAX_SUMMARY_CHARS"]},
    "body": described(
        STRING, f"Markdown, at most {_LIMIT['MAX_ARTICLE_BYTES']:,} bytes as UTF-8 (KB_MAX_ARTICLE_BYTES)."
    ),
    "tags": {
        "description": "A list of tags, or one comma-separated text.",
        "oneOf": [
            {
                "type": "array",
                "maxItems": _LIMIT["MAX_TAGS"],
                "items": {**STRING, "maxLength": _LIMIT["MAX_TAG_CHARS"]},
            },
            STRING,
        ],
    },
    "product": {**STRING, "maxLength": store.MAX_PRODUCT},
    "audience": one_of_values(AUDIENCES),
    "status": one_of_values(STATUSES),
    "message": described(STRING, "Why this change was made, kept with the revision."),
}

ARTICLE_INPUT = with_examples(
    obj(ARTICLE_INPUT_FIELDS, required=["title"], closed=False),
    {
        "title": "Docking station flickers",
        "body": '## What the customer notices\n\n- "The screen flickers when I plug in the dock"\n',
        "tags": ["dock", "display"],
        "status": "draft",
    },
)

ARTICLE_UPDATE = with_examples(
    obj(
        {
            **ARTICLE_INPUT_FIELDS,
            "version": {
                "description": "The article's `version` as it was read: required, so that a save never overwrites "
                "an edit it has not seen (a whole number, or its digits as text).",
                "oneOf": [
                    {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    {"type": "string", "pattern": r"^\s*[0-9]{1,10}\s*$"},
                ],
            },
            "verified": described(BOOLEAN, "true marks the article as checked now, even if nothing else changed."),
            "owner": described(STRING, "Give the article to another active author or admin to keep right."),
        },
        required=["version"],
        closed=False,
    ),
    {"summary": "The printer lost its network address, or its queue is paused.", "version": 1},
)

REVISION_SUMMARY_FIELDS: dict[str, Schema] = {
    "number": INTEGER,
    "created_at": TIMESTAMP,
    "created_by": TEXT_OR_NULL,
    "message": STRING,
    "slug": STRING,
    "title": STRING,
    "status": one_of_values(STATUSES),
}

REVISION = obj(
    {
        **REVISION_SUMMARY_FIELDS,
        "summary": STRING,
        "tags": STRINGS,
        "product": STRING,
        "audience": one_of_values(AUDIENCES),
        "extra": {"type": "object"},
        "markdown": STRING,
    }
)

CHECKS = described(
    obj(
        {
            "score": described({"type": "integer", "minimum": 0, "maximum": 100}, "100 less what the findings weigh."),
            "findings": {
                "type": "array",
                "items": obj(
                    {
                        "code": described(
                            STRING,
                            "missing_explanation, missing_section, no_customer_words, script, heading_order, "
                            "long_paragraph, broken_link, no_owner or cannot_save.",
                        ),
                        "message": STRING,
                        "line": {"type": ["integer", "null"]},
                    }
                ),
            },
        }
    ),
    "The content standard's guidance: never a reason a save is refused.",
)

_FIELD_CHANGE = obj({"from": {}, "to": {}})

REVISION_DIFF = obj(
    {
        "from": described(INTEGER, "The older revision's number."),
        "to": described(INTEGER, "The newer revision's number."),
        "changes": described(
            {"type": "array", "items": CHANGE},
            "The body from `from` to `to`, word by word: joining the equal and delete texts gives the older "
            "body, the equal and insert texts the newer.",
        ),
        "fields": described(
            {"type": "object", "additionalProperties": _FIELD_CHANGE},
            "Every other field that differs (title, slug, summary, tags, product, audience, status, extra), "
            "as its value before and after.",
        ),
    }
)

ROLE_LIST: Schema = described(
    {"type": "array", "items": one_of_values(ROLES), "minItems": 1},
    'Every role the user is to hold (an author who also trains: ["author", "trainer"]); replaces `role`.',
)

USER = obj(
    {
        "username": STRING,
        "role": described(one_of_values(ROLES), "The strongest role held: the one that decides what the user reads."),
        "roles": described({"type": "array", "items": one_of_values(ROLES)}, "Every role the user holds."),
        "active": BOOLEAN,
        "created_at": TIMESTAMP,
    }
)

TOKEN = obj(
    {
        "id": INTEGER,
        "prefix": described(STRING, "The secret's first characters, to recognise it by."),
        "name": described(STRING, "What its owner uses it for (may be empty)."),
        "created_at": TIMESTAMP,
        "last_used_at": described(TIMESTAMP_OR_NULL, "Updated at most once a minute; null: never used."),
    }
)

# Empty means "none given"; otherwise long enough.
PASSWORD: Schema = {
    "anyOf": [{**STRING, "maxLength": 0}, {**STRING, "minLength": auth.MIN_PASSWORD_LENGTH}],
}

NEW_USER = with_examples(
    obj(
        {
            "username": described({**STRING, "pattern": r"^\S{1,80}$"}, "1-80 characters, no spaces."),
            "role": one_of_values(ROLES, "Defaults to agent."),
            "roles": ROLE_LIST,
            "password": described(
                {"anyOf": [*PASSWORD["anyOf"], {"type": "null"}]},
                "Leave it out (or empty) to have one generated and returned once.",
            ),
        },
        required=["username"],
        closed=False,
    ),
    {"username": "sam", "role": "agent"},
)

USER_CHANGE = with_examples(
    obj(
        {
            "role": one_of_values(ROLES, "The one role the user is to hold (use `roles` for several)."),
            "roles": ROLE_LIST,
            "active": described(
                BOOLEAN,
                "JSON true or false only; false deactivates the account, ends its sessions and revokes its tokens.",
            ),
            "password": described(
                PASSWORD,
                "A new password (ends the user's sessions and revokes their tokens); an empty text leaves it unchanged.",
            ),
        },
        required=[],
        closed=False,
    ),
    {"role": "author"},
)

SYNONYM_GROUP = obj({"id": INTEGER, "terms": STRINGS, "updated_at": TIMESTAMP})

WARNINGS = described(STRINGS, "Golden queries this change pushed out of the top 3.")

STATUS = obj(
    {
        "database": obj({"backend": STRING, "articles": COUNT}),
        "index": obj(
            {
                "folder": STRING,
                "readable": BOOLEAN,
                "problem": TEXT_OR_NULL,
                "pending_articles": COUNT,
                "set_aside": described(
                    {"type": "object", "additionalProperties": STRING},
                    "Articles the index writer could not index, by slug, with the reason.",
                ),
            }
        ),
        "index_writer": obj(
            {
                "running_here": BOOLEAN,
                "process": described(TEXT_OR_NULL, "The process id of the index writer, when one holds the lock."),
                "last_error": TEXT_OR_NULL,
                "waiting_for_lock": BOOLEAN,
            }
        ),
        "search_log": obj({"buffered": COUNT, "dropped": COUNT}),
    }
)

SCHEMAS: dict[str, Schema] = {
    **ERROR_SCHEMAS,
    "SearchPage": SEARCH_PAGE,
    "SearchHit": HIT,
    "Suggestions": obj({"took_ms": NUMBER, "results": array_of("Suggestion")}),
    "Suggestion": SUGGESTION,
    "ArticleSummary": obj(
        {
            **ARTICLE_SUMMARY_FIELDS,
            "score": described(
                {"type": "integer", "minimum": 0, "maximum": 100},
                "For authors: the content checks' score, broken links included.",
            ),
        },
        required=list(ARTICLE_SUMMARY_FIELDS),
    ),
    "Article": ARTICLE,
    "ArticleInput": ARTICLE_INPUT,
    "ArticleUpdate": ARTICLE_UPDATE,
    "SavedArticle": obj(
        {"article": ref("Article"), "changed": described(BOOLEAN, "false when the save changed nothing.")}
    ),
    "RevisionSummary": obj(REVISION_SUMMARY_FIELDS),
    "Revision": REVISION,
    "RevisionDiff": REVISION_DIFF,
    "Checks": CHECKS,
    "Attachment": obj(
        {
            "id": INTEGER,
            "name": STRING,
            "content_type": STRING,
            "size": INTEGER,
            "url": URL,
            "markdown": described(STRING, "What to paste into the article to show or offer the file."),
        }
    ),
    "Flag": obj(
        {
            "id": INTEGER,
            "article": described(STRING, "The flagged article's slug."),
            "title": STRING,
            "reason": one_of_values([r.value for r in FlagReason]),
            "comment": STRING,
            "raised_by": TEXT_OR_NULL,
            "created_at": TIMESTAMP,
            "state": one_of_values(["open", "resolved"]),
            "resolved_at": TIMESTAMP_OR_NULL,
            "resolved_by": TEXT_OR_NULL,
            "revision": described({"type": ["integer", "null"]}, "The revision that fixed it."),
            "resolution": described(STRING, "Why no change was needed (or a note with the fix)."),
        }
    ),
    "Setting": obj({"value": {}, "version": INTEGER, "updated_by": TEXT_OR_NULL}),
    "Template": obj(
        {
            "markdown": STRING,
            "version": described(INTEGER, "0 while it is kb's default; send it back with a change."),
            "updated_by": TEXT_OR_NULL,
        }
    ),
    "Preview": obj(
        {"html": described(STRING, "Sanitized HTML, as the article page shows it."), "checks": ref("Checks")}
    ),
    "User": USER,
    "NewUser": NEW_USER,
    "UserChange": USER_CHANGE,
    "Token": TOKEN,
    "SynonymGroup": SYNONYM_GROUP,
    "Status": STATUS,
}


INPUT_SCHEMAS: dict[str, Schema] = {
    "SuggestInput": with_examples(
        obj(
            {
                "text": described(
                    {**STRING, "minLength": 1, "maxLength": SUGGEST_MAX_CHARS, "pattern": r"\S"},
                    "The customer's whole message, or a call transcript.",
                ),
                "limit": described({"type": "integer", "minimum": 1, "maximum": 20}, "How many articles (5)."),
            },
            required=["text"],
            closed=False,
        ),
        {"text": "Hi, hope you are well. Since Monday Outlook keeps asking for my password. Thanks, Sam"},
    ),
    "PasswordChange": with_examples(
        obj(
            {
                "current": described({**STRING, "maxLength": auth.MAX_PASSWORD_CHARS}, "The caller's password now."),
                "new": described(
                    {**STRING, "minLength": auth.MIN_PASSWORD_LENGTH, "maxLength": auth.MAX_PASSWORD_CHARS},
                    "The new password.",
                ),
            },
            closed=False,
        ),
        {"current": "the password now", "new": "a new long password"},
    ),
    "TokenInput": with_examples(
        obj(
            {"name": described({**STRING, "maxLength": tokens.MAX_NAME_CHARS}, "What the token is for; optional.")},
            required=[],
            closed=False,
        ),
        {"name": "helpdesk sidebar"},
    ),
    "PreviewInput": with_examples(
        obj(
            {
                "markdown": {**STRING, "description": "The body as being edited."},
                "status": one_of_values(STATUSES, "The status it would be saved with (links are judged by it)."),
            },
            required=["markdown"],
            closed=False,
        ),
        {"markdown": "## What is going on\n\nSee [[printer-shows-offline]].\n", "status": "draft"},
    ),
    "VerifyInput": with_examples(
        obj({"version": ARTICLE_UPDATE["properties"]["version"]}, required=["version"], closed=False), {"version": 3}
    ),
    "FlagInput": with_examples(
        obj(
            {
                "reason": one_of_values([r.value for r in FlagReason]),
                "comment": {**STRING, "maxLength": 2000},
            },
            required=["reason"],
            closed=False,
        ),
        {"reason": "outdated", "comment": "The portal moved to the new address last week."},
    ),
    "ResolveInput": with_examples(
        obj(
            {
                "revision": described({"type": "integer", "minimum": 1}, "The revision that fixed it."),
                "reason": described({**STRING, "maxLength": 2000}, "Or: why no change is needed."),
            },
            required=[],
            closed=False,
        ),
        {"reason": "Checked with the vendor: the steps are still right."},
    ),
    "TransitionInput": with_examples(
        obj(
            {
                "to": one_of_values(STATUSES, "The state to move to."),
                "comment": described({**STRING, "maxLength": 500}, "Why: kept as the new revision's message."),
                "version": ARTICLE_UPDATE["properties"]["version"],
            },
            required=["to", "version"],
            closed=False,
        ),
        {"to": "review", "comment": "Ready: please check the cause section", "version": 3},
    ),
    "SettingInput": with_examples(
        obj(
            {
                "value": described(
                    {"type": ["boolean", "integer", "object", "array"]},
                    "review_required: true or false; review_days: days (1-3650); review_days_by_product: "
                    '{"product": days}; cause_categories: ["product defect", ...].',
                ),
                "version": described({"type": "integer", "minimum": 0}, "The setting's version as read."),
            },
            required=["value", "version"],
            closed=False,
        ),
        {"value": False, "version": 0},
    ),
    "TemplateInput": with_examples(
        obj(
            {
                "markdown": STRING,
                "version": described(
                    {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, "The template's version as read."
                ),
            },
            required=["markdown", "version"],
            closed=False,
        ),
        {"markdown": "## What the customer notices\n\n## What is going on\n", "version": 0},
    ),
    "RestoreInput": with_examples(
        obj(
            {
                "version": ARTICLE_UPDATE["properties"]["version"],
                "message": described(STRING, "Why, added to the new revision's message."),
            },
            required=["version"],
            closed=False,
        ),
        {"version": 4, "message": "The firmware note was right after all"},
    ),
    "FeedbackInput": with_examples(
        obj(
            {
                "helpful": BOOLEAN,
                "comment": described(
                    {**STRING, "maxLength": feedback.MAX_VOTE_COMMENT},
                    'With "helpful": false, what was missing: it joins the knowledge gap it points at.',
                ),
            },
            required=["helpful"],
            closed=False,
        ),
        {"helpful": True},
        {"helpful": False, "comment": "Nothing about the printer's sleep mode"},
    ),
    "SynonymInput": with_examples(
        obj(
            {
                "terms": described(
                    {
                        "type": "array",
                        "items": {**STRING, "maxLength": vocabulary.MAX_TERM_LENGTH},
                        "minItems": 2,
                    },
                    f"At least two different terms, at most {vocabulary.MAX_TERMS}; kept lowercase.",
                )
            },
            closed=False,
        ),
        {"terms": ["wifi", "wireless", "wlan"]},
    ),
    "GoldenInput": with_examples(
        obj(
            {
                "query": described({**STRING, "pattern": r"\S", "maxLength": 500}, "In the customer's words."),
                "article": described(STRING, "The article's slug."),
            },
            closed=False,
        ),
        {"query": "printer says offline", "article": "printer-shows-offline"},
    ),
}
