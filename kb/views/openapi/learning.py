"""Reading paths, teams, assignments and progress in kb's OpenAPI document (kb.views.api_learning):
`operations()` gives the paths; the bodies are in learningbodies.
"""

from __future__ import annotations

from kb.views.openapi.learningbodies import INPUT_SCHEMAS, SCHEMAS
from kb.views.openapi.operations import invalid, not_found, ok, operation, path_param, query_param
from kb.views.openapi.schema import COUNT, STRING, Schema, array_of, described, error_response, obj, one_of_values, ref

__all__ = ["INPUT_SCHEMAS", "SCHEMAS", "TAG", "operations"]

TAG = "learning"


def _path_id() -> Schema:
    return {**path_param("path_id", {"type": "integer", "minimum": 0}, "The path's id."), "example": 1}


def _step_number() -> Schema:
    return {**path_param("n", {"type": "integer", "minimum": 0}, "The step's number, from 1."), "example": 1}


def _team_id() -> Schema:
    return {**path_param("team_id", {"type": "integer", "minimum": 0}, "The team's id."), "example": 1}


NO_PATH = not_found("No such path (or a retired one, to a caller who is not a trainer).")
NO_STEP = not_found("No such path, or no step with this number in it.")
NO_TEAM = not_found("No such team.")
BAD_PATH = invalid(
    "a field of the wrong type, an empty title, a step whose article does not exist or is not published, or an "
    "article twice (`invalid`, `field` names it: `steps[2].article`)"
)
CONFLICT = {
    409: error_response(
        "Someone saved the path after `version` (or at the same moment): nothing was saved.", ref("PathConflict")
    )
}
PRECONDITION = {428: error_response("No `version` was sent.", ref("PreconditionRequired"))}
TEAM_TAKEN = {409: error_response("Another team has this name (`conflict`, `field`: name).")}


def operations() -> dict[str, Schema]:
    return {**_paths(), **_path_changes(), **_teams(), **_assignments(), **_reading(), **_progress()}


def _paths() -> dict[str, Schema]:
    return {
        "/paths": {
            "get": operation(
                "listPaths",
                "List the reading paths",
                tag=TAG,
                role="any",
                params=[query_param("retired", one_of_values(["0", "1"]), "1: the retired paths (trainers only).")],
                responses=ok(
                    200, "The paths in use (or retired), newest change first.", obj({"paths": array_of("ReadingPath")})
                ),
                errors={403: error_response("`retired=1` from a caller who is not a trainer (`forbidden`).")},
            ),
            "post": operation(
                "createPath",
                "Create a reading path",
                tag=TAG,
                role="trainer",
                write=True,
                body="PathInput",
                responses=ok(201, "Created.", ref("ReadingPath")),
                errors=BAD_PATH,
            ),
        },
        "/paths/{path_id}": {
            "parameters": [_path_id()],
            "get": operation(
                "getPath",
                "Read a reading path",
                tag=TAG,
                role="any",
                responses=ok(200, "The path.", ref("ReadingPath")),
                errors=NO_PATH,
            ),
            "put": operation(
                "updatePath",
                "Save a path's title, purpose and steps over the version read",
                tag=TAG,
                role="trainer",
                write=True,
                body="PathUpdate",
                description="The whole path is sent. Steps are matched by article, so readers keep their progress "
                "when steps are reordered or their notes change.",
                responses=ok(200, "Saved (or nothing changed).", ref("SavedPath")),
                errors={**BAD_PATH, **NO_PATH, **CONFLICT, **PRECONDITION},
            ),
            "delete": operation(
                "retirePath",
                "Retire a path",
                tag=TAG,
                role="trainer",
                write=True,
                description="Nothing is deleted: readers stop seeing it, their progress is kept, and "
                "reinstatePath brings it back.",
                responses=ok(200, "Retired (or already).", ref("SavedPath")),
                errors={**NO_PATH, **CONFLICT},
            ),
        },
    }


def _path_changes() -> dict[str, Schema]:
    return {
        "/paths/{path_id}/reinstate": {
            "parameters": [_path_id()],
            "post": operation(
                "reinstatePath",
                "Put a retired path back in use",
                tag=TAG,
                role="trainer",
                write=True,
                responses=ok(200, "In use again (or already was).", ref("SavedPath")),
                errors={**NO_PATH, **CONFLICT},
            ),
        },
        "/paths/{path_id}/duplicate": {
            "parameters": [_path_id()],
            "post": operation(
                "duplicatePath",
                "Copy a path to adapt it",
                tag=TAG,
                role="trainer",
                write=True,
                description='The copy is titled "Copy of ...", assigned to nobody and no onboarding path.',
                responses=ok(201, "The copy.", ref("ReadingPath")),
                errors=NO_PATH,
            ),
        },
        "/paths/{path_id}/onboarding": {
            "parameters": [_path_id()],
            "put": operation(
                "setOnboardingPath",
                "Make a path the one new users of a role get",
                tag=TAG,
                role="admin",
                write=True,
                body="OnboardingInput",
                responses=ok(200, "Saved (or nothing changed).", ref("SavedPath")),
                errors={
                    **invalid("`role` missing or not a role, or a retired path (`invalid`)"),
                    **NO_PATH,
                    **CONFLICT,
                },
            ),
        },
        "/paths/{path_id}/revisions": {
            "parameters": [_path_id()],
            "get": operation(
                "listPathRevisions",
                "A path's history, newest first",
                tag=TAG,
                role="trainer",
                responses=ok(200, "The path as saved each time.", obj({"revisions": array_of("PathRevision")})),
                errors=NO_PATH,
            ),
        },
    }


def _teams() -> dict[str, Schema]:
    team = ok(200, "The team.", ref("Team"))
    no_user = invalid("`username` is not text or names no user (`invalid`)")
    return {
        "/teams": {
            "get": operation(
                "listTeams",
                "List the teams",
                tag=TAG,
                role="trainer",
                responses=ok(200, "Every team, by name.", obj({"teams": array_of("Team")})),
            ),
            "post": operation(
                "createTeam",
                "Create a team",
                tag=TAG,
                role="trainer",
                write=True,
                body="TeamInput",
                responses=ok(201, "Created.", ref("Team")),
                errors={**invalid("an empty or long name, or an unknown member (`invalid`)"), **TEAM_TAKEN},
            ),
        },
        "/teams/{team_id}": {
            "parameters": [_team_id()],
            "get": operation("getTeam", "Read a team", tag=TAG, role="trainer", responses=team, errors=NO_TEAM),
            "put": operation(
                "renameTeam",
                "Rename a team",
                tag=TAG,
                role="trainer",
                write=True,
                body="TeamRename",
                responses=team,
                errors={**invalid("an empty or long name (`invalid`)"), **NO_TEAM, **TEAM_TAKEN},
            ),
        },
        "/teams/{team_id}/members": {
            "parameters": [_team_id()],
            "post": operation(
                "addTeamMember",
                "Put someone in a team",
                tag=TAG,
                role="trainer",
                write=True,
                body="MemberInput",
                description="From now on they have the paths assigned to the team.",
                responses=team,
                errors={**no_user, **NO_TEAM},
            ),
        },
        "/teams/{team_id}/members/{username}": {
            "parameters": [_team_id(), {**path_param("username", STRING, "The member's name."), "example": "admin"}],
            "delete": operation(
                "removeTeamMember",
                "Take someone out of a team",
                tag=TAG,
                role="trainer",
                write=True,
                description="What they read stays theirs.",
                responses=team,
                errors={**invalid("no user has this name (`invalid`)"), **NO_TEAM},
            ),
        },
    }


def _assignments() -> dict[str, Schema]:
    listed = {"assignments": array_of("Assignment")}
    return {
        "/paths/{path_id}/assign": {
            "parameters": [_path_id()],
            "post": operation(
                "assignPath",
                "Give a path to people and teams",
                tag=TAG,
                role="trainer",
                write=True,
                body="AssignInput",
                description="A team's members get the path, including people who join it later. Assigning again "
                "changes the due date.",
                responses=ok(
                    200,
                    "Assigned; `assigned` counts the assignments made or changed.",
                    obj({"assigned": COUNT, **listed}),
                ),
                errors={
                    **invalid("nobody named, an unknown user or team, a bad `due`, or a retired path (`invalid`)"),
                    **NO_PATH,
                },
            ),
        },
        "/paths/{path_id}/unassign": {
            "parameters": [_path_id()],
            "post": operation(
                "unassignPath",
                "Take a path back from people and teams",
                tag=TAG,
                role="trainer",
                write=True,
                body="UnassignInput",
                description="What they read is kept.",
                responses=ok(200, "Taken back.", obj({"unassigned": COUNT, **listed})),
                errors={**invalid("an unknown user or team (`invalid`)"), **NO_PATH},
            ),
        },
        "/paths/{path_id}/assignments": {
            "parameters": [_path_id()],
            "get": operation(
                "listAssignments",
                "Who a path was given to",
                tag=TAG,
                role="trainer",
                responses=ok(200, "People first, then teams.", obj(listed)),
                errors=NO_PATH,
            ),
        },
    }


def _reading() -> dict[str, Schema]:
    read = operation(
        "readStep",
        "Mark a step read",
        tag=TAG,
        role="any",
        write=True,
        body="ReadInput",
        description="Records the revision shown now, the time since the step was opened, and the answer to its "
        "question when given. The body may be left out.",
        responses=ok(200, "The step as the caller now stands with it.", ref("ReaderStep")),
        errors={**invalid("an answer that is not text or is too long (`invalid`)"), **NO_STEP},
    )
    read["requestBody"]["required"] = False
    return {
        "/me/paths": {
            "get": operation(
                "myPaths",
                "The caller's reading paths and progress",
                tag=TAG,
                role="any",
                description="Given directly or through a team; paths not yet done first, soonest due first.",
                responses=ok(200, "A JSON array.", array_of("MyPath")),
            ),
        },
        "/users/{username}/paths": {
            "parameters": [path_param("username", STRING, "Whose paths.")],
            "get": operation(
                "pathsOfUser",
                "One person's reading paths and progress",
                tag=TAG,
                role="trainer",
                description="What the person sees under `/me/paths`: a trainer's view of one agent across paths.",
                responses=ok(200, "A JSON array.", array_of("MyPath")),
                errors=not_found("No user of that name."),
            ),
        },
        "/paths/{path_id}/steps/{n}": {
            "parameters": [_path_id(), _step_number()],
            "get": operation(
                "getStep",
                "Read a step of a path",
                tag=TAG,
                role="any",
                description="The trainer's note and question and the article as published. Opening a step "
                "starts its clock.",
                responses=ok(200, "The step for the caller.", ref("ReaderStep")),
                errors=NO_STEP,
            ),
        },
        "/paths/{path_id}/steps/{n}/read": {"parameters": [_path_id(), _step_number()], "post": read},
    }


def _progress() -> dict[str, Schema]:
    csv_columns = (
        "One row per assignee: username, status, done, total, reread, overdue, due, seconds (in all), then the "
        "seconds spent on each step."
    )
    answer = ok(200, "Both, with a reader's answer and the feedback given.", ref("StepFeedback"))
    report = ok(200, "The progress of everyone assigned the path, by username.", ref("PathProgress"))
    report[200]["content"]["text/csv"] = {"schema": described(STRING, csv_columns)}
    report[200]["headers"] = {
        "Content-Disposition": {"schema": STRING, "description": "With `format=csv`: the file name to save as."}
    }
    return {
        "/paths/{path_id}/steps/{n}/feedback": {
            "parameters": [_path_id(), _step_number()],
            "post": operation(
                "giveStepFeedback",
                "Reply to a reader's answer",
                tag=TAG,
                role="trainer",
                write=True,
                body="StepFeedbackInput",
                responses=answer,
                errors={
                    **invalid("an empty or long feedback, an unknown user, or one who has not answered (`invalid`)"),
                    **NO_STEP,
                },
            ),
        },
        "/paths/{path_id}/progress": {
            "parameters": [_path_id()],
            "get": operation(
                "pathProgress",
                "How far everyone assigned a path is",
                tag=TAG,
                role="trainer",
                params=[query_param("format", one_of_values(["json", "csv"]), "csv: a spreadsheet (text/csv).")],
                responses=report,
                errors={**invalid("`format` is neither json nor csv (`invalid`)"), **NO_PATH},
            ),
        },
    }
