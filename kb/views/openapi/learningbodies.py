"""The bodies of the reading-path API (kb.views.api_learning) as JSON Schema: `SCHEMAS` (responses,
closed) and `INPUT_SCHEMAS` (requests, open) join the document's components. Limits and enums come
from kb.learning, which enforces them.
"""

from __future__ import annotations

from kb.learning import paths as reading_paths
from kb.learning import progress, teams
from kb.views.openapi.bodies import ROLES, STATUSES
from kb.views.openapi.schema import (
    BOOLEAN,
    CHANGE,
    COUNT,
    INTEGER,
    STRING,
    STRINGS,
    TEXT_OR_NULL,
    TIMESTAMP,
    TIMESTAMP_OR_NULL,
    Schema,
    array_of,
    described,
    error_schema,
    obj,
    one_of_values,
    with_examples,
)

DATE_OR_NULL: Schema = {"type": ["string", "null"], "format": "date"}
READER_STEP_STATUSES = [progress.UNREAD, progress.READ, progress.UPDATED]
READER_STATUSES = [progress.NOT_STARTED, progress.IN_PROGRESS, progress.DONE]

PATH_FIELDS: dict[str, Schema] = {
    "id": INTEGER,
    "title": STRING,
    "purpose": described(STRING, "What the reader understands afterwards."),
    "steps": array_of("PathStep"),
    "version": described(INTEGER, "Send it back with an update: a save based on an older version is refused."),
    "retired": described(BOOLEAN, "Out of use: readers no longer see it (nothing was deleted)."),
    "retired_at": TIMESTAMP_OR_NULL,
    "onboarding": described(
        {"type": ["string", "null"], "enum": [*ROLES, None]}, "New users with this role get the path."
    ),
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "created_by": TEXT_OR_NULL,
}

STEP_INPUT = obj(
    {
        "article": described(STRING, "A published article's slug (an old slug of a renamed article works too)."),
        "note": described({**STRING, "maxLength": reading_paths.MAX_NOTE_CHARS}, "Why it matters, what to notice."),
        "question": described(
            {**STRING, "maxLength": reading_paths.MAX_QUESTION_CHARS}, "A reflection question (optional)."
        ),
    },
    required=["article"],
    closed=False,
)

PATH_INPUT_FIELDS: dict[str, Schema] = {
    "title": {**STRING, "pattern": r"\S", "maxLength": reading_paths.MAX_TITLE_CHARS},
    "purpose": {**STRING, "maxLength": reading_paths.MAX_PURPOSE_CHARS},
    "steps": described(
        {"type": "array", "items": STEP_INPUT, "maxItems": reading_paths.MAX_STEPS},
        "In reading order; each article at most once.",
    ),
}

EXAMPLE_STEPS = [
    {
        "article": "printer-shows-offline",
        "note": "Notice how often the cause is the network, not the printer.",
        "question": "What would you ask first?",
    },
    {"article": "vpn-will-not-connect", "note": "The first check is the same as for the printer."},
]

NAMES: Schema = {"type": "array", "items": STRING, "maxItems": 1_000}

ASSIGNEE = obj(
    {
        "username": STRING,
        "status": one_of_values(READER_STATUSES),
        "done": described(COUNT, "Steps read (and not changed since)."),
        "total": COUNT,
        "reread": described(COUNT, "Steps whose article changed since the reader read it."),
        "overdue": BOOLEAN,
        "due": DATE_OR_NULL,
        "via": described(STRINGS, '"direct" and/or the teams that gave the reader the path.'),
        "seconds": described(
            {"type": "array", "items": COUNT},
            f"Time on each step, in order (a visit counts at most {progress.MAX_STEP_SECONDS} s).",
        ),
        "answers": {
            "type": "array",
            "items": obj(
                {
                    "n": INTEGER,
                    "question": STRING,
                    "answer": described(STRING, "Empty: not answered yet."),
                    "answered_at": TIMESTAMP_OR_NULL,
                    "feedback": described(STRING, "The trainer's reply, which the reader sees with the step."),
                }
            ),
        },
    }
)

READER_STEP = obj(
    {
        "path": obj({"id": INTEGER, "title": STRING}),
        "n": described(INTEGER, "The step's number, from 1."),
        "total_steps": COUNT,
        "article": described(STRING, "The article's slug."),
        "title": STRING,
        "note": STRING,
        "question": described(STRING, "Empty: the step asks nothing."),
        "status": described(
            one_of_values(READER_STEP_STATUSES),
            "updated: the article was published again since the caller read it, changing what they read.",
        ),
        "revision": described({"type": ["integer", "null"]}, "The published revision shown."),
        "html": described(STRING, "That revision's body, rendered and sanitized."),
        "changes": described(
            {"type": "array", "items": CHANGE},
            'When the status is "updated": word by word, what changed since the caller read it; else empty.',
        ),
        "read_at": TIMESTAMP_OR_NULL,
        "seconds": described(COUNT, "Time the caller has spent on the step."),
        "answer": described(STRING, "The caller's answer to the question."),
        "feedback": described(STRING, "The trainer's reply to that answer."),
    }
)

SCHEMAS: dict[str, Schema] = {
    "ReadingPath": obj(PATH_FIELDS),
    "SavedPath": obj(
        {**PATH_FIELDS, "changed": described(BOOLEAN, "false when the request changed nothing.")},
    ),
    "PathStep": obj(
        {
            "n": described(INTEGER, "The step's number, from 1."),
            "article": described(STRING, "The article's slug."),
            "title": STRING,
            "article_status": described(one_of_values(STATUSES), "An archived article stays readable in the path."),
            "note": STRING,
            "question": STRING,
        }
    ),
    "PathRevision": obj(
        {
            "number": INTEGER,
            "created_at": TIMESTAMP,
            "created_by": TEXT_OR_NULL,
            "title": STRING,
            "purpose": STRING,
            "steps": {
                "type": "array",
                "items": obj(
                    {
                        "article": described(TEXT_OR_NULL, "null: the article was deleted since."),
                        "note": STRING,
                        "question": STRING,
                    }
                ),
            },
            "retired": BOOLEAN,
            "onboarding": PATH_FIELDS["onboarding"],
        }
    ),
    "Team": obj({"id": INTEGER, "name": STRING, "members": described(STRINGS, "Usernames, oldest member first.")}),
    "Assignment": obj(
        {
            "id": INTEGER,
            "user": described(TEXT_OR_NULL, "The person given the path (null: a team was)."),
            "team": described(TEXT_OR_NULL, "The team given the path: whoever is in it, now or later."),
            "due": DATE_OR_NULL,
            "assigned_at": TIMESTAMP,
        }
    ),
    "MyPath": obj(
        {
            "id": INTEGER,
            "title": STRING,
            "due": DATE_OR_NULL,
            "done_steps": COUNT,
            "total_steps": COUNT,
            "reread_steps": described(COUNT, "Steps to read again: their article changed since."),
            "status": one_of_values(READER_STATUSES),
            "overdue": BOOLEAN,
            "steps": {
                "type": "array",
                "items": obj(
                    {"n": INTEGER, "article": STRING, "title": STRING, "status": one_of_values(READER_STEP_STATUSES)}
                ),
            },
        }
    ),
    "ReaderStep": READER_STEP,
    "PathProgress": obj({"path": obj({"id": INTEGER, "title": STRING}), "assignees": array_of("Assignee")}),
    "Assignee": ASSIGNEE,
    "StepFeedback": obj(
        {"n": INTEGER, "username": STRING, "answer": STRING, "feedback": STRING, "feedback_at": TIMESTAMP_OR_NULL}
    ),
    "PathConflict": error_schema(
        "conflict", {"current_version": described(INTEGER, "The version to read and base the next attempt on.")}
    ),
}

INPUT_SCHEMAS: dict[str, Schema] = {
    "PathInput": with_examples(
        obj(PATH_INPUT_FIELDS, required=["title"], closed=False),
        {
            "title": "Printing and network basics",
            "purpose": "Tell a network fault from a printer's.",
            "steps": EXAMPLE_STEPS,
        },
    ),
    "PathUpdate": with_examples(
        obj(
            {
                **PATH_INPUT_FIELDS,
                "version": described(
                    {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    "The path's `version` as it was read: required, so a save never overwrites an unseen edit.",
                ),
            },
            required=["title", "version"],
            closed=False,
        ),
        {"title": "Printing and network basics", "steps": EXAMPLE_STEPS, "version": 1},
    ),
    "OnboardingInput": with_examples(
        obj(
            {"role": described({"type": ["string", "null"], "enum": [*ROLES, None]}, "null: no onboarding role.")},
            closed=False,
        ),
        {"role": "agent"},
        {"role": None},
    ),
    "TeamInput": with_examples(
        obj(
            {
                "name": {**STRING, "pattern": r"\S", "maxLength": teams.MAX_NAME_CHARS},
                "members": described({**NAMES, "maxItems": teams.MAX_MEMBERS_AT_ONCE}, "Usernames."),
            },
            required=["name"],
            closed=False,
        ),
        {"name": "Night shift", "members": ["admin"]},
    ),
    "TeamRename": with_examples(
        obj({"name": {**STRING, "pattern": r"\S", "maxLength": teams.MAX_NAME_CHARS}}, closed=False),
        {"name": "Evening shift"},
    ),
    "MemberInput": with_examples(obj({"username": STRING}, closed=False), {"username": "admin"}),
    "AssignInput": with_examples(
        obj(
            {
                "users": described(NAMES, "Usernames."),
                "teams": described(NAMES, "Team names: their members get the path, now and later."),
                "due": described(DATE_OR_NULL, "YYYY-MM-DD, or null for none; assigning again changes it."),
            },
            required=[],
            closed=False,
        ),
        {"users": ["admin"], "due": "2030-01-31"},
    ),
    "UnassignInput": with_examples(
        obj(
            {"users": described(NAMES, "Usernames."), "teams": described(NAMES, "Team names.")},
            required=[],
            closed=False,
        ),
        {"users": ["admin"]},
    ),
    "ReadInput": with_examples(
        obj(
            {"answer": described({**STRING, "maxLength": progress.MAX_ANSWER_CHARS}, "The answer to the question.")},
            required=[],
            closed=False,
        ),
        {"answer": "I would ask whether other people can print."},
    ),
    "StepFeedbackInput": with_examples(
        obj(
            {
                "username": described(STRING, "The reader whose answer this replies to."),
                "feedback": {**STRING, "pattern": r"\S", "maxLength": progress.MAX_FEEDBACK_CHARS},
            },
            closed=False,
        ),
        {"username": "admin", "feedback": "Good: asking about others first saves the call."},
    ),
}
