"""Every operation of the JSON API (kb.views.api), grouped as the README's API table groups them."""

from __future__ import annotations

from kb import settings
from kb.views.openapi.bodies import ROLES, STATUSES, USER, WARNINGS
from kb.views.openapi.operations import (
    INDEX_UNAVAILABLE,
    SLUG,
    invalid,
    not_found,
    ok,
    operation,
    path_param,
    query_param,
)
from kb.views.openapi.schema import (
    BOOLEAN,
    COUNT,
    INTEGER,
    STRING,
    Schema,
    array_of,
    described,
    error_response,
    obj,
    one_of_values,
    ref,
)


def search() -> dict[str, Schema]:
    return {
        "/search": {
            "get": operation(
                "search",
                "Search articles as an agent does",
                tag="search",
                role="any",
                description="Agents find published articles only; authors add drafts with `drafts=1`.",
                params=[
                    query_param(
                        "q", {**STRING, "pattern": r"\S"}, "What the customer says, in their words.", required=True
                    ),
                    query_param("limit", INTEGER, "How many results (1 to the configured maximum, 10 by default)."),
                    query_param("product", STRING, "Only articles about this product."),
                    query_param("tag", STRING, "Only articles with this tag."),
                    query_param("audience", STRING, "Only articles for this audience."),
                    query_param("typing", STRING, "1: the text is still being typed; its last word is a prefix."),
                    query_param("drafts", STRING, "1: authors also find drafts and articles in review."),
                    query_param("archived", STRING, "1: authors also find archived articles."),
                    query_param("sid", STRING, "An id grouping the searches of one episode for the gap report."),
                ],
                responses=ok(200, "The best matches, with facets.", ref("SearchPage")),
                errors={**invalid("an empty query (`bad_request`)"), **INDEX_UNAVAILABLE},
            )
        },
        "/suggest": {
            "post": operation(
                "suggest",
                "Suggest articles from a customer's whole message",
                tag="search",
                role="any",
                write=True,
                body="SuggestInput",
                description="For a helpdesk panel: the message is read in windows of a few sentences, so a "
                "problem mentioned in passing is found; each article comes with the passage that matches and "
                "why (the message's words it holds, or similar meaning). Published articles only; not written "
                "to the search log.",
                responses=ok(200, "The best articles, best first.", ref("Suggestions")),
                errors={
                    **invalid("no `text`, an empty one or one longer than 20,000 characters; a bad `limit`"),
                    **INDEX_UNAVAILABLE,
                },
            )
        },
    }


def _upload() -> Schema:
    upload = operation(
        "uploadAttachment",
        "Attach an image or a file to an article",
        tag="articles",
        role="author",
        write=True,
        description="Multipart form data with the file in a field named `file`. Kinds: png, jpg, gif, webp (shown "
        "inline), pdf, zip, txt, log, csv (downloads); the content must match the kind. The answer's `markdown` "
        "is what to paste into the article.",
        responses=ok(201, "Attached.", obj({"attachment": ref("Attachment")})),
        errors={
            **invalid("no `file`, a kind kb does not keep, or content that is not what its name says (`invalid`)"),
            **not_found("No such article."),
            413: error_response("Larger than the attachment limit (KB_MAX_ATTACHMENT_BYTES, 10 MB by default)."),
        },
    )
    upload["requestBody"] = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
    return upload


def articles() -> dict[str, Schema]:
    return {
        "/articles": {
            "get": operation(
                "listArticles",
                "List the articles the caller may read",
                tag="articles",
                role="any",
                params=[query_param("status", one_of_values(STATUSES), "Only articles in this status.")],
                responses=ok(200, "Newest change first.", obj({"articles": array_of("ArticleSummary")})),
            ),
            "post": operation(
                "createArticle",
                "Create an article",
                tag="articles",
                role="author",
                write=True,
                body="ArticleInput",
                responses=ok(201, "Created.", ref("SavedArticle")),
                errors={
                    **invalid("a field with a wrong type or value (`invalid`, `fields` names each)"),
                    409: error_response(
                        "The slug belongs to another article, which is left untouched.", ref("SlugTaken")
                    ),
                },
            ),
        },
        "/articles/{slug}": {
            "parameters": [SLUG],
            "get": operation(
                "getArticle",
                "Read an article: its fields, Markdown and sanitized HTML",
                tag="articles",
                role="any",
                params=[query_param("sid", STRING, "The search episode that led here (for the gap report).")],
                responses={
                    **ok(200, "The article.", ref("Article")),
                    301: {
                        "description": "The article was renamed: `Location` (and `url`) is its address now.",
                        "headers": {"Location": {"schema": {"type": "string"}, "description": "The new address."}},
                        "content": {"application/json": {"schema": obj({"moved_to": STRING, "url": STRING})}},
                    },
                },
                errors=not_found("No article with this slug that the caller may read."),
            ),
            **{
                method: operation(
                    f"{method}Article",
                    "Save an edit based on the version read" + (" (same as PUT)" if method == "patch" else ""),
                    tag="articles",
                    role="author",
                    write=True,
                    body="ArticleUpdate",
                    description="Fields left out keep their value.",
                    responses=ok(200, "Saved (or nothing changed).", ref("SavedArticle")),
                    errors={
                        **invalid("a field with a wrong type or value, or a bad `version` (`invalid`)"),
                        **not_found("No article with this slug."),
                        409: error_response(
                            "Someone saved after `version`: nothing was saved, and `changes` says what they changed; "
                            "or the new slug belongs to another article.",
                            {"oneOf": [ref("Conflict"), ref("SlugTaken")]},
                        ),
                        428: error_response(
                            "No `version` was sent: kb will not save over edits the caller has not seen.",
                            ref("PreconditionRequired"),
                        ),
                    },
                )
                for method in ("put", "patch")
            },
        },
        "/articles/{slug}/feedback": {
            "parameters": [SLUG],
            "post": operation(
                "articleFeedback",
                "Say whether an article helped",
                tag="articles",
                role="any",
                write=True,
                body="FeedbackInput",
                responses=ok(
                    200,
                    "Recorded (one vote per person and article; the latest counts).",
                    obj({"slug": STRING, "helpful": BOOLEAN}),
                ),
                errors={
                    **invalid(
                        "`helpful` is not true or false (`bad_request`), or `comment` is not text or too long "
                        "(`invalid`, `field`: comment)"
                    ),
                    **not_found("No such article."),
                },
            ),
        },
        "/articles/{slug}/revisions": {
            "parameters": [SLUG],
            "get": operation(
                "listRevisions",
                "An article's history, newest first",
                tag="articles",
                role="author",
                responses=ok(
                    200, "Every saved revision, without bodies.", obj({"revisions": array_of("RevisionSummary")})
                ),
                errors=not_found("No such article."),
            ),
        },
        "/articles/{slug}/revisions/{number}": {
            "parameters": [SLUG, path_param("number", {"type": "integer", "minimum": 0}, "The revision number.")],
            "get": operation(
                "getRevision",
                "One revision in full",
                tag="articles",
                role="author",
                responses=ok(200, "The revision as it was saved.", ref("Revision")),
                errors=not_found("No such article or revision."),
            ),
        },
        "/articles/{slug}/revisions/{number}/restore": {
            "parameters": [SLUG, path_param("number", {"type": "integer", "minimum": 0}, "The revision to restore.")],
            "post": operation(
                "restoreRevision",
                "Make a new revision equal to an old one",
                tag="articles",
                role="author",
                write=True,
                body="RestoreInput",
                description="Title, summary, body, tags, product, audience and kept front matter come back; the slug "
                "and status stay as they are. Nothing is destroyed: the revisions in between stay in the history.",
                responses=ok(200, "Restored (or the article already equals that revision).", ref("SavedArticle")),
                errors={
                    **invalid("a bad `version`, or an old body today's checks refuse (`invalid`)"),
                    **not_found("No such article or revision."),
                    409: error_response(
                        "Someone saved after `version`: nothing was restored, and `changes` says what they changed.",
                        ref("Conflict"),
                    ),
                    428: error_response("No `version` was sent.", ref("PreconditionRequired")),
                },
            ),
        },
        "/links/broken": {
            "get": operation(
                "brokenLinks",
                "Links that lead nowhere an agent can follow",
                tag="articles",
                role="author",
                description="Links in articles that are not archived to an article that does not exist or is "
                "archived, and links from published articles to ones agents cannot read yet.",
                responses=ok(
                    200,
                    "Every broken link, by article and line.",
                    obj(
                        {
                            "broken": {
                                "type": "array",
                                "items": obj(
                                    {
                                        "source": STRING,
                                        "title": STRING,
                                        "line": INTEGER,
                                        "target": STRING,
                                        "why": STRING,
                                    }
                                ),
                            }
                        }
                    ),
                ),
            ),
        },
        "/preview": {
            "post": operation(
                "preview",
                "Render Markdown as the article page would, with the content checks",
                tag="articles",
                role="author",
                write=True,
                body="PreviewInput",
                description="Nothing is saved. The HTML goes through the same renderer and sanitizer as the article "
                "page; `checks` lists what the content standard suggests, including links to missing or archived "
                "articles.",
                responses=ok(200, "The preview.", ref("Preview")),
                errors=invalid("`markdown` is not text or is over the article limit, or a bad `status` (`invalid`)"),
            ),
        },
        "/articles/{slug}/attachments": {
            "parameters": [SLUG],
            "get": operation(
                "listAttachments",
                "An article's images and files",
                tag="articles",
                role="author",
                responses=ok(200, "Oldest first.", obj({"attachments": array_of("Attachment")})),
                errors=not_found("No such article."),
            ),
            "post": _upload(),
        },
        "/articles/{slug}/flags": {
            "parameters": [SLUG],
            "post": operation(
                "flagArticle",
                "Flag an article as wrong, outdated, unclear or missing something",
                tag="flags",
                role="any",
                write=True,
                body="FlagInput",
                responses=ok(
                    201,
                    "Flagged: it shows on the article for authors and in the fix queue.",
                    obj({"flag": ref("Flag")}),
                ),
                errors={
                    **invalid("a bad `reason` or `comment` (`invalid`)"),
                    **not_found("No article the caller may read."),
                },
            ),
        },
        "/flags": {
            "get": operation(
                "listFlags",
                "Flags: the fix queue, or the caller's own",
                tag="flags",
                role="any",
                description="Authors see every flag; other roles only their own. The caller's own with `mine=1`.",
                params=[
                    query_param("state", {"type": "string", "enum": ["open", "resolved", "all"]}, "Default: open."),
                    query_param("mine", STRING, "1: only the flags the caller raised."),
                    query_param("owned", STRING, "1: flags on the caller's articles first."),
                    query_param("article", STRING, "Only this article's flags (a slug)."),
                ],
                responses=ok(200, "Newest first.", obj({"flags": array_of("Flag")})),
                errors={**invalid("a bad `state` (`invalid`)"), **not_found("No such article.")},
            ),
        },
        "/flags/{flag_id}/resolve": {
            "parameters": [path_param("flag_id", {"type": "integer", "minimum": 0}, "The flag's id.")],
            "post": operation(
                "resolveFlag",
                "Resolve a flag",
                tag="flags",
                role="author",
                write=True,
                body="ResolveInput",
                description="With the revision that fixed it, or the reason no change was needed; the agent who "
                "flagged sees the outcome.",
                responses=ok(200, "Resolved.", obj({"flag": ref("Flag")})),
                errors={
                    **invalid("neither `revision` nor `reason`, or no such revision (`invalid`)"),
                    **not_found("No such flag."),
                    409: error_response("Someone resolved it already (`conflict`)."),
                },
            ),
        },
        "/articles/{slug}/verify": {
            "parameters": [SLUG],
            "post": operation(
                "verifyArticle",
                "Say an article is still right",
                tag="articles",
                role="author",
                write=True,
                body="VerifyInput",
                description="Records who and when, and sets the next review date (the review period of the "
                "article's product, 180 days by default). Not a new revision.",
                responses=ok(200, "Verified.", ref("SavedArticle")),
                errors={
                    **invalid("a bad `version` (`invalid`)"),
                    **not_found("No such article."),
                    409: error_response("The article changed after `version`: read it again first.", ref("Conflict")),
                    428: error_response("No `version` was sent.", ref("PreconditionRequired")),
                },
            ),
        },
        "/articles/{slug}/transition": {
            "parameters": [SLUG],
            "post": operation(
                "transitionArticle",
                "Move an article through the workflow",
                tag="articles",
                role="author",
                write=True,
                body="TransitionInput",
                description="draft → review → published → archived, and back to draft from any of them (admins may "
                "also publish a draft). Publishing needs someone other than the article's last editor, or an admin, "
                "unless the `review_required` setting is off. The move is a new revision whose message is the comment.",
                responses=ok(200, "Moved (or already there).", ref("SavedArticle")),
                errors={
                    **invalid("`to` is not a state, the workflow has no such move, or a bad `version` (`invalid`)"),
                    403: error_response("Not an author, or publishing what one last changed oneself (`forbidden`)."),
                    **not_found("No such article."),
                    409: error_response(
                        "The article changed after `version`: nothing was moved; `changes` says what changed.",
                        ref("Conflict"),
                    ),
                    428: error_response("No `version` was sent.", ref("PreconditionRequired")),
                },
            ),
        },
        "/settings": {
            "get": operation(
                "listSettings",
                "The rules admins choose",
                tag="accounts",
                role="admin",
                responses=ok(
                    200,
                    "Each setting with its value and version (0: kb's default).",
                    obj({"settings": {"type": "object", "additionalProperties": ref("Setting")}}),
                ),
            ),
        },
        "/settings/{key}": {
            "parameters": [
                path_param("key", {"type": "string", "enum": list(settings.EDITABLE)}, "The setting's name.")
            ],
            "put": operation(
                "changeSetting",
                "Change one setting",
                tag="accounts",
                role="admin",
                write=True,
                body="SettingInput",
                responses=ok(200, "Saved.", ref("Setting")),
                errors={
                    **invalid("the value has the wrong type, or a bad `version` (`invalid`)"),
                    404: error_response("No such setting (`not_found`)."),
                    409: error_response("Another admin saved it after `version`.", ref("SettingConflict")),
                    428: error_response("No `version` was sent.", ref("PreconditionRequired")),
                },
            ),
        },
        "/template": {
            "get": operation(
                "getTemplate",
                "The text a new article starts from",
                tag="articles",
                role="author",
                responses=ok(200, "The template and its version.", ref("Template")),
            ),
            "put": operation(
                "putTemplate",
                "Change the new-article template",
                tag="articles",
                role="admin",
                write=True,
                body="TemplateInput",
                responses=ok(200, "Saved.", ref("Template")),
                errors={
                    **invalid("`markdown` is not text, too long or a shape kb cannot render, or a bad `version`"),
                    409: error_response(
                        "Another admin saved it after `version`: nothing was saved.", ref("SettingConflict")
                    ),
                    428: error_response("No `version` was sent.", ref("PreconditionRequired")),
                },
            ),
        },
        "/articles/{slug}/diff": {
            "parameters": [SLUG],
            "get": operation(
                "diffRevisions",
                "What changed between two revisions",
                tag="articles",
                role="author",
                params=[
                    query_param("from", INTEGER, "The older revision (default: the one before `to`)."),
                    query_param("to", INTEGER, "The newer revision (default: the current one)."),
                ],
                responses=ok(200, "The body word by word and the other fields that differ.", ref("RevisionDiff")),
                errors={
                    **invalid("`from` or `to` is not a revision number (`invalid`)"),
                    **not_found("No such article or revision."),
                },
            ),
        },
    }


TOO_MANY_ATTEMPTS = {
    429: {
        **error_response("Too many password attempts for this account (`too_many_requests`)."),
        "headers": {
            "Retry-After": {"description": "Seconds until the caller may try again.", "schema": {"type": "integer"}}
        },
    }
}


def accounts() -> dict[str, Schema]:
    username = path_param("username", STRING, "The user's name.")
    token_id = path_param("token_id", {"type": "integer", "minimum": 0}, "The token's id (see listTokens).")
    return {
        "/me": {
            "get": operation(
                "me",
                "Who the caller is",
                tag="accounts",
                role="any",
                responses=ok(
                    200, "The caller's name and role.", obj({"username": STRING, "role": one_of_values(ROLES)})
                ),
            )
        },
        "/me/password": {
            "post": operation(
                "changePassword",
                "Change the caller's own password",
                tag="accounts",
                role="any",
                write=True,
                body="PasswordChange",
                description="Every other session of the caller ends and all their API tokens are revoked, "
                "including the one this request may use; a session-cookie caller stays logged in. Rate-limited per "
                "account together with the account page (KB_LOGIN_RATE_LIMIT).",
                responses=ok(
                    200,
                    "Changed.",
                    obj(
                        {
                            "changed": {"const": True},
                            "revoked_tokens": described(COUNT, "How many of the caller's API tokens were revoked."),
                            "message": STRING,
                        }
                    ),
                ),
                errors={
                    **invalid("a wrong current password, or a short, non-text or unstorable new one (`invalid`)"),
                    **TOO_MANY_ATTEMPTS,
                },
            )
        },
        "/tokens": {
            "get": operation(
                "listTokens",
                "The caller's API tokens that still work",
                tag="accounts",
                role="any",
                responses=ok(200, "Oldest first; never the secrets.", obj({"tokens": array_of("Token")})),
            ),
            "post": operation(
                "createToken",
                "Create an API token for the caller",
                tag="accounts",
                role="any",
                write=True,
                body="TokenInput",
                responses=ok(
                    201,
                    "Created; `secret` is shown this once and cannot be shown again.",
                    obj({"token": ref("Token"), "secret": STRING}),
                ),
                errors=invalid("a name that is not text or is too long (`invalid`)"),
            ),
        },
        "/tokens/{token_id}": {
            "parameters": [token_id],
            "delete": operation(
                "revokeToken",
                "Revoke one of the caller's API tokens",
                tag="accounts",
                role="any",
                write=True,
                responses=ok(200, "Revoked: it no longer works.", obj({"revoked": ref("Token")})),
                errors=not_found("No such token of the caller's that still works."),
            ),
        },
        "/users": {
            "get": operation(
                "listUsers",
                "List the users",
                tag="accounts",
                role="admin",
                responses=ok(200, "Every user, by name.", obj({"users": array_of("User")})),
            ),
            "post": operation(
                "createUser",
                "Create a user",
                tag="accounts",
                role="admin",
                write=True,
                body="NewUser",
                responses=ok(
                    201,
                    "Created; `password` is there only when kb generated it, and is shown this once.",
                    obj({"user": obj({**USER["properties"], "password": STRING}, required=USER["required"])}),
                ),
                errors=invalid("a bad or taken username, an unknown role or a short password (`invalid`)"),
            ),
        },
        "/users/{username}": {
            "parameters": [username],
            "patch": operation(
                "updateUser",
                "Change a user's role, active flag or password",
                tag="accounts",
                role="admin",
                write=True,
                body="UserChange",
                responses=ok(200, "Changed.", obj({"user": ref("User")})),
                description="A new password or deactivation ends the user's sessions and revokes their API tokens.",
                errors={
                    **invalid(
                        "an unknown role, a short password, `active` other than true or false, removing one's own "
                        "admin role or deactivating oneself (`invalid`, with `field`)"
                    ),
                    **not_found("No such user."),
                },
            ),
        },
    }


def vocabulary() -> dict[str, Schema]:
    group_id = path_param("group_id", {"type": "integer", "minimum": 0}, "The synonym group's id.")
    saved = obj({"group": ref("SynonymGroup"), "warnings": WARNINGS})
    bad_terms = invalid("`terms` missing or not a list (`bad_request`), or an unusable group (`invalid`)")
    no_group = not_found("No such synonym group.")
    golden_id = path_param("golden_id", {"type": "integer", "minimum": 0}, "The golden query's id.")
    return {
        "/synonyms": {
            "get": operation(
                "listSynonyms",
                "The synonym groups applied to every search",
                tag="vocabulary",
                role="author",
                responses=ok(200, "Every group.", obj({"groups": array_of("SynonymGroup")})),
            ),
            "post": operation(
                "createSynonyms",
                "Add a synonym group",
                tag="vocabulary",
                role="author",
                write=True,
                body="SynonymInput",
                responses=ok(201, "Added; it applies from the next search.", saved),
                errors={**bad_terms, **INDEX_UNAVAILABLE},
            ),
        },
        "/synonyms/{group_id}": {
            "parameters": [group_id],
            "put": operation(
                "updateSynonyms",
                "Replace a group's terms",
                tag="vocabulary",
                role="author",
                write=True,
                body="SynonymInput",
                responses=ok(200, "Replaced.", saved),
                errors={**bad_terms, **no_group, **INDEX_UNAVAILABLE},
            ),
            "delete": operation(
                "deleteSynonyms",
                "Delete a group",
                tag="vocabulary",
                role="author",
                write=True,
                responses=ok(200, "Deleted.", obj({"deleted": INTEGER, "warnings": WARNINGS})),
                errors={**no_group, **INDEX_UNAVAILABLE},
            ),
        },
        "/golden": {
            "get": operation(
                "runGolden",
                "Run every golden query now",
                tag="vocabulary",
                role="author",
                responses=ok(
                    200,
                    "Pass (in the top 3) or fail, with each query's rank.",
                    obj(
                        {
                            "passed": COUNT,
                            "total": COUNT,
                            "results": {
                                "type": "array",
                                "items": obj(
                                    {
                                        "id": INTEGER,
                                        "query": STRING,
                                        "article": STRING,
                                        "rank": described({"type": ["integer", "null"]}, "null: not in the top 10."),
                                        "passed": BOOLEAN,
                                    }
                                ),
                            },
                        }
                    ),
                ),
                errors=INDEX_UNAVAILABLE,
            ),
            "post": operation(
                "addGolden",
                "Add a golden query: this query must find this article in the top 3",
                tag="vocabulary",
                role="author",
                write=True,
                body="GoldenInput",
                responses=ok(201, "Added.", obj({"id": INTEGER, "query": STRING, "article": STRING})),
                errors={
                    **invalid("an empty or long query, an unknown article, or a duplicate (`invalid`)"),
                    **INDEX_UNAVAILABLE,
                },
            ),
        },
        "/golden/{golden_id}": {
            "parameters": [golden_id],
            "delete": operation(
                "deleteGolden",
                "Remove a golden query",
                tag="vocabulary",
                role="author",
                write=True,
                responses=ok(200, "Removed.", obj({"deleted": INTEGER})),
                errors=not_found("No such golden query."),
            ),
        },
    }


def operations() -> dict[str, Schema]:
    return {
        "/health": {
            "get": operation(
                "health",
                "Whether this process can serve (for load balancers)",
                tag="operations",
                role=None,
                responses=ok(200, "It can.", obj({"status": {"const": "ok"}})),
                errors={503: error_response("It cannot reach its database or its search index.")},
            )
        },
        "/status": {
            "get": operation(
                "status",
                "Database, index, index writer and search log of the process answering",
                tag="operations",
                role="admin",
                responses=ok(200, "The state, as `kb doctor` reports it.", ref("Status")),
            )
        },
        "/openapi.json": {
            "get": operation(
                "openapi",
                "This document",
                tag="operations",
                role=None,
                responses=ok(200, "The API described as OpenAPI 3.1.", {"type": "object"}),
            )
        },
    }
