"""The JSON API of the knowledge loop: calls, gaps, root fixes and insights, on /api/v1.

Routes on the same blueprint as kb.views.api; the work is kb.loop's.
"""

from __future__ import annotations

from kb.views.api import bp  # noqa: F401  (the routes below are registered on the API blueprint)
