"""HTTP entry points: one blueprint per group of users, plus the JSON API."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.routing import IntegerConverter, Map

from kb import limits
from kb.auth import has_role, login_manager, wants_json
from kb.loop.insights import Recent
from kb.models import Role
from kb.search import IndexDamaged
from kb.views.articleinput import RequestError


def register_blueprints(app: Flask) -> None:
    from kb.views import (
        account,
        admin,
        agent,
        api,
        api_learning,
        api_loop,
        author,
        insights,
        insights_gaps,  # noqa: F401  (the gap queue's routes, on the insights blueprint)
        learning,
        trainer,
        trainer_teams,
    )

    app.url_map.converters["int"] = DatabaseId  # before any rule is added: rules bind their converter
    assert api_learning.bp is api.bp and api_loop.bp is api.bp  # their routes are on the API blueprint
    assert trainer_teams.bp is trainer.bp  # the team pages are on the trainer's blueprint
    for module in (account, agent, author, trainer, learning, insights, admin, api):
        app.register_blueprint(module.bp)
    app.extensions["kb.insights"] = Recent(float(app.config["INSIGHTS_CACHE_SECONDS"]))
    app.add_template_filter(_reject_key, "reject_key")
    app.add_template_global(_holds, "holds")
    app.before_request(_refuse_nul_in_url)
    # First of all: the CSRF check reads the form, and an upload's form may exceed the request limit.
    app.before_request_funcs.setdefault(None, []).insert(0, _room_for_uploads)
    _register_error_pages(app)


def _holds(*roles: str) -> bool:
    """`holds('trainer')` in a template: whether the signed-in user has that role (admins have all)."""
    return has_role(current_user, *(Role(r) for r in roles))


UPLOADS = {"api.upload_attachment", "author.upload_attachment"}


def _room_for_uploads() -> None:
    """An upload's request may be as large as one attachment (KB_MAX_ATTACHMENT_BYTES) plus its form."""
    if request.endpoint in UPLOADS:
        request.max_content_length = limits.limit("MAX_ATTACHMENT_BYTES") + 64 * 1024


MAX_ID = 2**31 - 1  # PostgreSQL's INTEGER; SQLite's holds 64 bits


class DatabaseId(IntegerConverter):
    """`<int:...>` in kb's URLs: a number that fits the INTEGER columns ids and revision numbers live in.

    Werkzeug's converter takes any run of digits, and a number past the column's range makes the
    database driver raise (OverflowError on SQLite, out of range on PostgreSQL, whose INTEGER has
    32 bits): a 500. Past the range there is no such row, so such a URL matches no route: a 404.

    The range is in the converter's pattern, not only checked afterwards: Werkzeug matches the
    pattern before the method and converts after, so `PUT /paths/<too large>` would match the GET
    route's pattern and answer 405 where the PUT route's conversion fails.
    """

    def __init__(
        self, url_map: Map, fixed_digits: int = 0, min: int | None = None, max: int = MAX_ID, signed: bool = False
    ):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        if not signed and not fixed_digits:
            self.regex = numbers_up_to(max)


def numbers_up_to(limit: int) -> str:
    """A pattern for the decimal numbers from 0 to `limit` (leading zeros allowed within its length).

    Shorter numbers are all smaller; one of the same length is smaller when it has the same first
    digits and then a smaller one.
    """
    digits = str(limit)
    shorter = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    same_length = [
        f"{digits[:i]}[0-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}" for i, d in enumerate(digits) if d != "0"
    ]
    return "(?:" + "|".join([*shorter, *same_length, digits]) + ")"


def _refuse_nul_in_url():
    """Refuse a NUL character in the path, a query parameter or a form field (400, naming it), for every page.

    Werkzeug decodes `%00` into the text the views get, but PostgreSQL cannot store or even compare
    text holding a NUL: an article lookup failed with a 500, and a search for "a%00b" was kept in
    the search-log buffer, whose every later flush then failed. No kb parameter has a use for one.
    JSON bodies are checked the same way in kb.views.jsonbody.
    """
    sent = [*request.args.items(multi=True), *(request.view_args or {}).items()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent += request.form.items(multi=True)
    for name, value in sent:
        if "\x00" in f"{name}{value}":
            message = f"{name}: holds a NUL character (%00), which cannot be stored as text"
            return _error_response(400, "invalid", message, field=name)
    return None


def _error_response(status: int, code: str, message: str, **extra):
    """The error as JSON for API callers, as kb's error page for people."""
    if wants_json():
        return jsonify(error=code, message=message, **extra), status
    return render_template("errors/error.html", code=status, message=message), status


def _reject_key(mapping: dict, key: str) -> dict:
    """A copy of `mapping` without `key`: builds "remove this filter" links."""
    return {k: v for k, v in mapping.items() if k != key}


def _register_error_pages(app: Flask) -> None:
    messages = {
        400: "The request could not be understood.",
        403: "Your role does not allow this page.",
        404: "There is nothing here. The article may have been moved, archived or never published.",
        405: "That action is not allowed here.",
        429: "Too many attempts. Wait a minute and try again.",
        500: "Something went wrong on our side. The error was logged.",
    }

    def handler(error):
        code = getattr(error, "code", 500) or 500
        message = messages.get(code, getattr(error, "description", "Error"))
        return _error_response(code, getattr(error, "name", "error").lower().replace(" ", "_"), message)

    for code in messages:
        app.register_error_handler(code, handler)

    @app.errorhandler(413)
    def too_large(error):
        most = app.config["MAX_CONTENT_LENGTH"]
        message = f"The request is larger than the limit of {most:,} bytes (KB_MAX_REQUEST_BYTES)."
        return _error_response(413, "request_too_large", message)

    @app.errorhandler(RequestError)
    def bad_request_field(error: RequestError):
        return _error_response(error.status, error.code, str(error), field=error.field)

    @app.errorhandler(IndexDamaged)
    def index_damaged(error: IndexDamaged):
        app.logger.error("%s", error)
        return _error_response(503, "index_unavailable", str(error))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error: DBAPIError):
        # The server restarting, the network gone, SQLite's write lock held past its timeout: the
        # request did not happen, and saying so beats a bare 500. Anything else stays a 500.
        app.logger.error("Database unavailable: %s", error.orig)
        login_manager._update_request_context_with_user(None)  # the page must not ask the database who you are
        return _error_response(
            503, "database_unavailable", "kb cannot reach its database right now. Try again in a moment."
        )
