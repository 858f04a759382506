"""Configuration: defaults, then `KB_*` environment variables, then the test mapping.

Paths are resolved here once, so the rest of kb reads ready-to-use values from `app.config`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: a SQLite file in the instance folder
    "INDEX_DIR": None,  # None: search_index/ beside the package
    "ARTICLES_DIR": str(PROJECT_ROOT / "articles"),
    "ADMIN_USERNAME": "admin",
    "ADMIN_PASSWORD": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # A CSRF token lives as long as the session: an author may keep an editor open for hours.
    "WTF_CSRF_TIME_LIMIT": None,
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "10 per minute",
    "SEARCH_MAX_LIMIT": 50,
    # Request threads per process (`kb serve --threads`): sizes the database pool and search readers.
    "THREADS": 4,
    # Memory per process for the scores of recently searched words (0 turns the cache off).
    "SEARCH_TERM_CACHE_MB": 64,
}

# Values that must stay strings even when they look like JSON (a password "12345" is not a number).
_RAW_STRING_KEYS = ("DATABASE_URL", "INDEX_DIR", "ARTICLES_DIR", "SECRET_KEY", "ADMIN_PASSWORD", "ADMIN_USERNAME")


def load_config(app: Flask, test_config: Mapping[str, Any] | None = None) -> None:
    """Fill `app.config` from defaults, the environment and `test_config`, then resolve paths."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("KB")
    for key in _RAW_STRING_KEYS:
        raw = os.environ.get(f"KB_{key}")
        if raw is not None:
            app.config[key] = raw
    if test_config:
        app.config.update(test_config)
    _resolve_paths(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app)


def _resolve_paths(app: Flask) -> None:
    if not app.config["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'kb.db'}"
    index_dir = app.config["INDEX_DIR"] or PROJECT_ROOT / "search_index"
    app.config["INDEX_DIR"] = str(Path(index_dir).resolve())


def _instance_secret_key(app: Flask) -> str:
    """Read the instance's secret key, creating it on first use.

    A constant in the code would be shared by every installation; a key generated per process
    would log everyone out on each restart. One file per instance, readable only by its owner.
    """
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key
