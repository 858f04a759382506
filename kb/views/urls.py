"""The addresses kb hands out in its answers (the API's `url` fields).

They are built from KB_BASE_URL, never from the request: the Host header is whatever the caller
sent, so copying it into an answer lets anyone who reaches kb, or poisons a cache in front of
it, make kb hand out links to a site of their choosing. Without KB_BASE_URL the address is
relative to kb's root ("/articles/vpn"), which a client resolves against the address it called.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for


def public_url(endpoint: str, **values: Any) -> str:
    """The address of `endpoint` for people outside kb: absolute under KB_BASE_URL, else relative."""
    base = current_app.config.get("BASE_URL")
    if not base:
        return url_for(endpoint, **values)
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)
