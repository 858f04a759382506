"""Configuration: defaults, then `KB_*` environment variables, then the test mapping.

Paths are resolved here once, so the rest of kb reads ready-to-use values from `app.config`.
Two kinds of paths: the files kb ships (templates, starter articles), found by `shipped_dir`,
and the data an instance writes (database, secret key, index), kept in the data folder. The
two never mix, so an installed kb never writes inside its own package.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from flask import Flask

from kb.limits import DEFAULT_LIMITS

PACKAGE_DIR = Path(__file__).resolve().parent
# The folder holding the package: the repository root in a checkout or an editable install.
PROJECT_ROOT = PACKAGE_DIR.parent

DEFAULTS: dict[str, Any] = {
    "DATA_DIR": None,  # None: the folder kb is started from
    "DATABASE_URL": None,  # None: instance/kb.db in the data folder
    "INDEX_DIR": None,  # None: search_index/ in the data folder
    "ARTICLES_DIR": None,  # None: the starter articles shipped with kb
    "ADMIN_USERNAME": "admin",
    "ADMIN_PASSWORD": None,
    # Where people reach kb, e.g. https://kb.example.com: the base of the links the API hands out.
    # None: links are relative ("/articles/vpn"). https also turns on HSTS and secure cookies.
    "BASE_URL": None,
    "HSTS_MAX_AGE": 365 * 24 * 3600,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # How long a login lasts: the remember-me cookie's life, also enforced on the server (kb.auth).
    "REMEMBER_DAYS": 30,
    # A CSRF token lives as long as the session: an author may keep an editor open for hours.
    "WTF_CSRF_TIME_LIMIT": None,
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "10 per minute",
    "SEARCH_MAX_LIMIT": 50,
    # Request threads per process (`kb serve --threads`): sizes the database pool and search readers.
    "THREADS": 4,
    # Memory per process for what searches read from the index: decoded postings, the stored
    # text of recently read articles, word scores (0 turns these caches off).
    "SEARCH_TERM_CACHE_MB": 96,
    # Rank by meaning as well as by words (kb.search.semantic); false: words only (vectors are
    # still indexed, so turning it back on needs no reindex).
    "SEARCH_MEANING": True,
    # How long call records and the search log are kept, in days (`kb prune`, and daily when serving).
    "CALL_RETENTION_DAYS": 365,
    "SEARCH_RETENTION_DAYS": 180,
    "PRUNE_INTERVAL_SECONDS": 86400,
    # How long the insights dashboard's figures for a date range are reused (0: computed every time).
    "INSIGHTS_CACHE_SECONDS": 60,
    # What kb accepts: request body, article body, title, tags, query (see kb.limits and README).
    **DEFAULT_LIMITS,
}

# Values that must stay strings even when they look like JSON (a password "12345" is not a number).
_RAW_STRING_KEYS = (
    "DATA_DIR",
    "DATABASE_URL",
    "INDEX_DIR",
    "ARTICLES_DIR",
    "BASE_URL",
    "SECRET_KEY",
    "ADMIN_PASSWORD",
    "ADMIN_USERNAME",
)


def shipped_dir(name: str) -> Path:
    """Return the folder of files kb ships under `name` ("templates" or "articles").

    The repository keeps them at its root, beside the package, where authors edit them; a wheel
    maps them into the package (see setup.cfg). So an installed kb finds them inside itself, and a
    checkout or an editable install (whose package folder has no copy) at the repository root.
    """
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PROJECT_ROOT / name


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
    _apply_base_url(app)
    # Werkzeug refuses a larger form or upload with 413 before any view reads it.
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_REQUEST_BYTES"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app)


def ensure_instance_dir(app: Flask) -> Path:
    """Return the instance folder, creating it readable only by its owner on first use.

    It holds the database, the secret key and uploads: nothing another local user should read.
    A folder that already exists keeps the permissions its operator gave it.
    """
    path = Path(app.instance_path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _resolve_paths(app: Flask) -> None:
    """Place the instance folder and the index in the data folder, unless configured elsewhere.

    The data folder defaults to the working directory: a checkout run from its root keeps
    `instance/` and `search_index/` there as it always did, and an installed kb keeps them where
    the operator starts it (or in `KB_DATA_DIR`), never in site-packages.
    """
    data_dir = Path(app.config["DATA_DIR"] or Path.cwd()).expanduser().resolve()
    app.config["DATA_DIR"] = str(data_dir)
    app.instance_path = str(data_dir / "instance")
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{ensure_instance_dir(app) / 'kb.db'}"
    index_dir = app.config["INDEX_DIR"] or data_dir / "search_index"
    app.config["INDEX_DIR"] = str(Path(index_dir).resolve())
    app.config["ARTICLES_DIR"] = str(app.config["ARTICLES_DIR"] or shipped_dir("articles"))


def _apply_base_url(app: Flask) -> None:
    """Check BASE_URL; when it is https, send cookies over https only (HSTS: kb.security).

    A browser that has the session cookie sends it on any plain-http request to the same host,
    where anyone on the network can read it; `Secure` stops that once kb is served over https.
    """
    base = app.config.get("BASE_URL")
    if not base:
        app.config["BASE_URL"] = None
        return
    parts = urlsplit(str(base))
    plain = parts.hostname and "@" not in parts.netloc and not (parts.query or parts.fragment)
    if parts.scheme not in ("http", "https") or not plain:
        raise ValueError(f"KB_BASE_URL must be an address like https://kb.example.com, not {base!r}")
    app.config["BASE_URL"] = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    if parts.scheme == "https":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True


def _instance_secret_key(app: Flask) -> str:
    """Read the instance's secret key, creating it on first use.

    A constant in the code would be shared by every installation; a key generated per process
    would log everyone out on each restart. One file per instance, readable only by its owner.
    """
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    ensure_instance_dir(app)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key
