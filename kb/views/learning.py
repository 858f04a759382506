"""The reader's side of reading paths: "My learning", a path, a step (blueprint "learning").

Every signed-in user learns: agents above all, but authors and trainers get onboarding paths too.
"""

from __future__ import annotations

from flask import Blueprint

from kb.auth import role_required

bp = Blueprint("learning", __name__, url_prefix="/learning")


@bp.before_request
@role_required()
def _signed_in() -> None:
    return None
