"""Hostile text that schemathesis never generates by itself, mixed into its run against kb.

schemathesis only generates strings it can encode as UTF-8, so it never sends a lone surrogate,
although a JSON body can carry one as an escape (`"\\ud800"`) and Python's parser accepts it. Loaded
by tests/test_schemathesis.py through SCHEMATHESIS_HOOKS: about one JSON body in four gets one of
its texts (a value or a key) replaced by one holding a lone surrogate; the server must answer 400.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

LONE_SURROGATE = "before\ud800after"


def _text_places(value: Any, path: tuple = ()) -> list[tuple]:
    """The paths to every text in `value`; a path ending in ("key", k) means the key k itself."""
    if isinstance(value, str):
        return [path]
    places: list[tuple] = []
    if isinstance(value, dict):
        for key, item in value.items():
            places.append((*path, ("key", key)))
            places += _text_places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            places += _text_places(item, (*path, index))
    return places


def _is_multipart(context: Any, body: Any) -> bool:
    operation = getattr(context, "operation", None)
    media_types = [str(getattr(b, "media_type", "")) for b in getattr(operation, "body", None) or ()]
    uploads = any(media.startswith("multipart/") for media in media_types)
    return uploads or (isinstance(body, dict) and any(isinstance(v, (bytes, bytearray)) for v in body.values()))


def _with_surrogate(value: Any, path: tuple) -> Any:
    if not path:
        return LONE_SURROGATE
    step, rest = path[0], path[1:]
    if isinstance(step, tuple):  # ("key", k): rename the key
        return {(LONE_SURROGATE if k == step[1] else k): v for k, v in value.items()}
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[step] = _with_surrogate(value[step], rest)
    return copy


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy:
    if _is_multipart(context, body):  # a file upload: its field names are the client's to encode, not JSON
        return st.just(body)
    places = _text_places(body)
    if not places:
        return st.just(body)
    mutated = st.sampled_from(places).map(lambda path: _with_surrogate(body, path))
    return st.one_of(st.just(body), st.just(body), st.just(body), mutated)


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    """Never revoke the token the run authenticates with (DELETE /tokens/{token_id}): every request
    after it would be a 401. Another id tests the operation as well. A hook on the call, not on
    generation, because the coverage phase picks boundary ids (0, 1) without generation hooks."""
    own = os.environ.get("KB_FUZZ_OWN_TOKEN_ID")
    parameters = case.path_parameters
    if own and isinstance(parameters, dict) and str(parameters.get("token_id")) == own:
        parameters["token_id"] = int(own) + 1
