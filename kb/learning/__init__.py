"""Reading paths: trainers grow agents' understanding with ordered articles and their reasons.

- `paths`: a path's title, purpose and steps (an article, the trainer's note, a reflection
  question), kept as revisions; duplicate, retire, onboarding.
- `teams`: named groups of people to assign paths to.
- `assignments`: who has which path (directly or through a team, now or after joining), by when.
- `progress`: what each reader opened, read (which revision), for how long and answered, and the
  "updated since you read it" rule.

No Flask here: the views and the CLI parse, call these, and commit.
"""

from __future__ import annotations

from kb.learning.assignments import assign, assign_onboarding, assignees, paths_of, unassign
from kb.learning.paths import (
    LearningError,
    PathConflict,
    PathInput,
    StepInput,
    create_path,
    duplicate_path,
    get_path,
    list_paths,
    reinstate_path,
    retire_path,
    set_onboarding,
    update_path,
)
from kb.learning.teams import add_member, create_team, get_team, list_teams, remove_member, rename_team

__all__ = [
    "LearningError",
    "PathConflict",
    "PathInput",
    "StepInput",
    "add_member",
    "assign",
    "assign_onboarding",
    "assignees",
    "create_path",
    "create_team",
    "duplicate_path",
    "get_path",
    "get_team",
    "list_paths",
    "list_teams",
    "paths_of",
    "reinstate_path",
    "remove_member",
    "rename_team",
    "retire_path",
    "set_onboarding",
    "unassign",
    "update_path",
]
