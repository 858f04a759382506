"""Cross-cutting protections: CSRF on every form, login rate limits and browser security headers."""

from __future__ import annotations

import math
import time

from flask import Flask, Response, current_app, flash, jsonify, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user
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
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    app.after_request(_security_headers)


# --- rate limits -------------------------------------------------------------------------------
# Guessing a password is limited per address (one machine trying many accounts) and per account
# (many machines trying one). The account limit counts failures only, so someone hammering a name
# can lock its owner out for at most the limit's window, not longer.


def password_guess_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def login_account_key() -> str:
    """The account a login attempt names (case and spaces aside, as people type names)."""
    return "account:" + request.form.get("username", "").strip().lower()[:200]


def signed_in_user_key() -> str:
    """The signed-in user, so a password change is limited per account whichever door it uses."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


def is_failed_attempt(response: Response) -> bool:
    return response.status_code in (400, 401)


# The account page and the API change a password under one budget per account.
password_change_limit = limiter.shared_limit(
    password_guess_limit, scope="password-change", key_func=signed_in_user_key, methods=["POST"]
)


def _too_many_requests(error: RateLimitExceeded):
    """429 with Retry-After: when the caller may try again, in seconds (pages and API alike)."""
    wait = _seconds_until_allowed(error)
    message = f"Too many attempts. Try again in {wait} second{'' if wait == 1 else 's'}."
    if wants_json():
        response = jsonify(error="too_many_requests", message=message)
    else:
        response = Response(render_template("errors/error.html", code=429, message=message), mimetype="text/html")
    response.status_code = 429
    response.headers["Retry-After"] = str(wait)
    return response


def _seconds_until_allowed(error: RateLimitExceeded) -> int:
    """Until every limit this request broke has room again: the latest reset among them."""
    now = time.time()
    # reset_at is rounded up to the next whole second: never say more than the window itself.
    waits = [
        min(limit.limit.get_expiry(), math.ceil(limit.reset_at - now))
        for limit in limiter.current_limits
        if limit.breached
    ]
    return max(1, max(waits, default=int(error.limit.limit.get_expiry())))


def _csrf_error(error: CSRFError):
    message = f"The form could not be verified ({error.description}). Reload the page and try again."
    if wants_json():
        return jsonify(error="csrf", message=message), 400
    if request.endpoint == "account.login":
        # A login form left open across a logout elsewhere, or a second tab that started its own
        # session: give the form back, ready to send, rather than a dead end.
        flash("Your login form had expired, so it was not sent. Enter your password again.", "error")
        username = request.form.get("username", "")[:200]
        return render_template("account/login.html", username=username), 400
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
    # Once kb is served over https (KB_BASE_URL), browsers must never try plain http again.
    base, max_age = current_app.config["BASE_URL"], int(current_app.config["HSTS_MAX_AGE"])
    if base and base.startswith("https://") and max_age > 0:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
    return response
