"""The insights pages for authors and admins: the dashboard, the gap queue, the recurring problems."""

from __future__ import annotations

from flask import Blueprint

from kb.auth import role_required
from kb.models import Role

bp = Blueprint("insights", __name__, url_prefix="/insights")


@bp.before_request
@role_required(Role.AUTHOR)
def _authors_and_admins() -> None:
    """Every page here is for authors and admins (admins hold every role)."""
