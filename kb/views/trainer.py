"""The trainer's pages: reading paths, teams, assignments and progress (blueprint "trainer")."""

from __future__ import annotations

from flask import Blueprint

from kb.auth import role_required
from kb.models import Role

bp = Blueprint("trainer", __name__, url_prefix="/trainer")


@bp.before_request
@role_required(Role.TRAINER)
def _trainers_only() -> None:
    return None
