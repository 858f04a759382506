"""Static files (kb/static): addressed by their content, cached for a year, sent gzipped.

Every `url_for("static", filename=...)` gets `?v=` and the first 12 hex digits of the file's
SHA-256, so templates stay as they are. A request carrying the current version may be kept
forever (`immutable`): new content means a new address. Without it, or with an older one (a page
rendered before an upgrade), the answer must be revalidated each time, by ETag or date (304).

Each file is read once per process and kept in memory with its gzip form (a few tens of KB in
all), so the version, the bytes and the compressed bytes always belong together, and every worker
computes the same version from the same file. With debug or TESTING on, a changed file (mtime or
size) is read again; in production a new file needs a restart, like new code. Only these files
are compressed: pages carry CSRF tokens, and compressing them would open them to BREACH.

Why not a library: WhiteNoise answers before Flask (no security headers from kb.security), wants
precompressed files written beside the package, and knows nothing of `url_for`; Flask-Compress
compresses every response, pages included, and versions no URL. This is the small part we need.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import stat
import threading
from dataclasses import dataclass

from flask import Flask, Response, abort, current_app, redirect, request, url_for
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
VERSION_LENGTH = 12
ICON = "favicon.svg"
# RFC 9239's type for JavaScript; Python 3.10 and 3.11 may still guess application/javascript.
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css"}
_COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")


@dataclass(frozen=True)
class Asset:
    """One static file as read from disk, and what kb serves for it."""

    body: bytes
    gzipped: bytes | None  # None: not text, or gzip would not make it smaller
    mimetype: str
    version: str
    modified: float  # the file's mtime, for Last-Modified
    stamp: tuple[int, int]  # (mtime_ns, size) when read, to notice a change in debug/TESTING


class AssetCache:
    """The static files read so far by this process, by their path."""

    def __init__(self) -> None:
        self._assets: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def get(self, path: str, *, recheck: bool) -> Asset | None:
        """The file at `path` (None when it is not a file); read again if `recheck` and changed."""
        with self._lock:
            asset = self._assets.get(path)
        if asset is not None and not recheck:
            return asset
        try:
            found = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(found.st_mode):
            return None
        if asset is not None and asset.stamp == (found.st_mtime_ns, found.st_size):
            return asset
        asset = read_asset(path)
        with self._lock:
            self._assets[path] = asset
        return asset


def read_asset(path: str) -> Asset:
    """Read the file at `path`: its bytes, gzip form, type and content version."""
    before = os.stat(path)  # before reading: a change while reading is noticed next time
    with open(path, "rb") as file:
        body = file.read()
    extension = os.path.splitext(path)[1].lower()
    mimetype = _TYPES.get(extension) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    gzipped = None
    if mimetype.startswith(_COMPRESSIBLE):
        # mtime=0: the same bytes in every process, so every worker gives the same ETag.
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        gzipped = packed if len(packed) < len(body) else None
    return Asset(
        body=body,
        gzipped=gzipped,
        mimetype=mimetype,
        version=content_version(body),
        modified=before.st_mtime,
        stamp=(before.st_mtime_ns, before.st_size),
    )


def content_version(body: bytes) -> str:
    """The version a static URL carries: the start of the content's SHA-256."""
    return hashlib.sha256(body).hexdigest()[:VERSION_LENGTH]


def init_app(app: Flask) -> None:
    """Version every static URL and serve static files through `serve_static`."""
    app.extensions["kb.assets"] = AssetCache()
    app.url_defaults(_add_version)
    # The endpoint stays "static": kb.security's after_request treats it as cacheable.
    app.view_functions["static"] = serve_static
    # Pages name their icon (base.html reads `icon_file`); a client that asks the old fixed
    # address anyway is sent to it.
    app.jinja_env.globals["icon_file"] = ICON
    app.add_url_rule("/favicon.ico", "favicon", lambda: redirect(url_for("static", filename=ICON)))


def static_asset(filename: str) -> Asset | None:
    """The static file `filename` names, or None if there is none (or it points outside)."""
    folder = current_app.static_folder
    path = safe_join(folder, filename) if folder else None
    if path is None:
        return None
    recheck = current_app.debug or current_app.testing
    return current_app.extensions["kb.assets"].get(path, recheck=recheck)


def _add_version(endpoint: str, values: dict) -> None:
    if endpoint != "static" or "v" in values or "filename" not in values:
        return
    asset = static_asset(values["filename"])
    if asset is not None:
        values["v"] = asset.version


def serve_static(filename: str) -> Response:
    """Send a static file: gzipped if the client takes gzip, cached for good if `v` is current."""
    asset = static_asset(filename)
    if asset is None:
        abort(404)
    # Werkzeug ranks "gzip;q=0" above "*", so an explicit refusal wins as RFC 9110 says.
    use_gzip = asset.gzipped is not None and request.accept_encodings.quality("gzip") > 0
    body = asset.gzipped if use_gzip else asset.body
    response = Response(body, mimetype=asset.mimetype)
    if asset.gzipped is not None:
        response.vary.add("Accept-Encoding")
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    # Each encoding is its own representation, so each has its own strong ETag.
    response.set_etag(asset.version + ("-gzip" if use_gzip else ""))
    response.last_modified = asset.modified
    response.headers["Cache-Control"] = IMMUTABLE if request.args.get("v") == asset.version else REVALIDATE
    return response.make_conditional(request, accept_ranges=True, complete_length=len(body))
