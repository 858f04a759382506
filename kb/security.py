"""Cross-cutting protections: CSRF on every form, login rate limits and browser security headers."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect

from kb.auth import wants_json

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

# Everything the browser loads comes from kb itself; article images may point elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: https:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    limiter.init_app(app)
    app.register_error_handler(CSRFError, _csrf_error)
    app.after_request(_security_headers)


def _csrf_error(error: CSRFError):
    message = f"The form could not be verified ({error.description}). Reload the page and try again."
    if wants_json():
        return jsonify(error="csrf", message=message), 400
    from flask import render_template

    return render_template("errors/error.html", code=400, message=message), 400


def _security_headers(response: Response) -> Response:
    # Pages carry a CSRF token tied to the session, and signed-in pages and API answers carry what
    # only that person may see: neither may be kept by a browser or a proxy. Static files may.
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
