"""The JSON API of reading paths, teams and progress: routes on the same /api/v1 blueprint as kb.views.api."""

from __future__ import annotations

from kb.views.api import bp  # noqa: F401  (the routes below are added to it)
