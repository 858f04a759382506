"""Schema migrations: the revisions agree with models.py, keep every row, and run once however many
processes start together.

Each test gets a new empty database: a SQLite file, or, when KB_TEST_DATABASE_URL names a
PostgreSQL server, a database created on it for the test and dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pprint import pformat
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import app_config

import kb.models  # noqa: F401  (registers the tables on Base.metadata)
from kb import create_app, migrations
from kb.db import Base, make_engine

# --- a new database per test -------------------------------------------------------------------


@pytest.fixture
def database_url(tmp_path) -> Iterator[str]:
    server = os.environ.get("KB_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'kb.db'}"
        return
    name = f"kb_migrations_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def engine(database_url) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def revisions_in_order() -> list[str]:
    scripts = ScriptDirectory(str(migrations.MIGRATIONS_DIR))
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


HEAD = revisions_in_order()[-1]


# --- (1) models.py and the migrations describe the same schema ---------------------------------


def test_a_migrated_database_matches_the_models(engine):
    migrations.upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == [], "models.py changed without a migration in kb/migrations/versions:\n" + pformat(
        differences
    )


def test_every_revision_can_be_undone_down_to_an_empty_database(engine):
    migrations.upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(migrations.alembic_config(connection), "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    assert migrations.upgrade(engine).after == HEAD


def test_foreign_keys_are_still_enforced_after_an_upgrade_in_the_same_process(engine):
    # SQLite migrates with foreign keys off (batch mode rebuilds tables); the pooled connection
    # the app goes on using must have them back on.
    migrations.upgrade(engine)
    orphan = sa.text("INSERT INTO feedback (article_id, user_id, helpful, created_at) VALUES (7, 7, :yes, :now)")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(orphan, {"yes": True, "now": T0})


# --- (2) rows written at the first revision survive every later one ----------------------------

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
T1 = T0 + timedelta(days=3, minutes=7)

# Rows for every table of the first revision, in its columns: the test writes them with SQL
# against that revision's reflected tables, not with today's models, so it keeps working when
# later revisions change the models. Foreign keys use the explicit ids below.
FIRST_REVISION_ROWS: dict[str, list[dict[str, Any]]] = {
    "users": [
        dict(id=1, username="ada", password_hash="scrypt:1:x", role="admin", is_active=True, created_at=T0),
        dict(id=2, username="bo", password_hash="scrypt:2:y", role="agent", is_active=False, created_at=T1),
    ],
    "api_tokens": [
        dict(id=1, user_id=2, token_hash="f" * 64, prefix="kb_3f9a", created_at=T0, last_used_at=T1, revoked_at=None),
    ],
    "articles": [
        dict(
            id=1,
            slug="vpn-connected-but-nothing-loads",
            title="VPN says connected but nothing loads",
            summary="The tunnel is up, but names do not resolve.",
            body="## What the customer notices\n- no intranet",
            tags=["vpn", "dns"],
            product="VPN",
            audience="internal",
            status="published",
            extra={"owner": "netops", "reviewed": [2026, 1]},
            version=2,
            created_at=T0,
            created_by_id=1,
            updated_at=T1,
            updated_by_id=2,
            verified_at=T1,
        ),
        dict(
            id=2,
            slug="printer-offline",
            title="Printer shows offline",
            summary="",
            body="",
            tags=[],
            product="",
            audience="external",
            status="draft",
            extra={},
            version=0,
            created_at=T1,
            created_by_id=None,
            updated_at=T1,
            updated_by_id=None,
            verified_at=None,
        ),
    ],
    "revisions": [
        dict(
            id=n,
            article_id=1,
            number=n,
            created_at=T0 + timedelta(hours=n),
            created_by_id=1,
            message=f"save {n}",
            slug="vpn-connected-but-nothing-loads",
            title="VPN says connected but nothing loads",
            summary="s",
            body=f"body {n}",
            tags=["vpn"],
            product="VPN",
            audience="internal",
            status="published",
            extra={},
        )
        for n in (1, 2)
    ],
    "index_events": [
        dict(id=1, article_id=1, created_at=T0),
        dict(id=2, article_id=99, created_at=T1),  # an article deleted since: no foreign key
    ],
    "feedback": [dict(id=1, article_id=1, user_id=2, helpful=True, created_at=T1)],
    "search_logs": [
        dict(
            id=1,
            episode="ep-1",
            created_at=T0,
            query="vpn connected no internet",
            role="agent",
            source="ui",
            results=3,
            opened_slug="vpn-connected-but-nothing-loads",
            opened_at=T1,
        ),
        dict(
            id=2,
            episode=None,
            created_at=T1,
            query="printer jam",
            role="author",
            source="api",
            results=0,
            opened_slug=None,
            opened_at=None,
        ),
    ],
    "synonym_groups": [dict(id=1, terms=["wifi", "wireless", "wlan"], updated_at=T0, updated_by_id=1)],
    "golden_queries": [
        dict(
            id=1,
            query="vpn on but nothing works",
            article_id=1,
            created_at=T0,
            created_by_id=1,
            last_rank=1,
            last_checked_at=T1,
        ),
    ],
}


def test_rows_written_at_the_first_revision_survive_every_later_one(engine):
    first, *later = revisions_in_order()
    migrations.upgrade(engine, first)
    tables = reflect(engine)
    assert set(FIRST_REVISION_ROWS) == set(tables) - {"alembic_version"}, "the sample rows must cover every table"
    with engine.begin() as connection:
        for name, rows in FIRST_REVISION_ROWS.items():
            connection.execute(tables[name].insert(), rows)
    for revision in later:  # one step at a time, so a loss is pinned on the revision that caused it
        migrations.upgrade(engine, revision)
        assert_rows_kept(engine, f"after revision {revision}")
    assert migrations.inspect_schema(engine).is_up_to_date
    assert_rows_kept(engine, "at the newest revision")


def reflect(engine: sa.Engine) -> dict[str, sa.Table]:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    return dict(metadata.tables)


def assert_rows_kept(engine: sa.Engine, when: str) -> None:
    tables = reflect(engine)
    with engine.connect() as connection:
        for name, expected in FIRST_REVISION_ROWS.items():
            table = tables[name]
            columns = [table.c[column] for column in expected[0]]
            stored = connection.execute(sa.select(*columns).order_by(table.c.id)).mappings().all()
            assert [_comparable(dict(row)) for row in stored] == [_comparable(row) for row in expected], (name, when)


def _comparable(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite gives timestamps back naive (in UTC) and PostgreSQL aware: compare them as naive UTC."""
    return {
        key: value.astimezone(timezone.utc).replace(tzinfo=None)
        if isinstance(value, datetime) and value.tzinfo
        else value
        for key, value in row.items()
    }


# --- (3) instances from before migrations --------------------------------------------------------


def make_instance_from_before_migrations(engine: sa.Engine) -> None:
    """The tables create_all made before kb had migrations, and no `alembic_version` table.

    At that point the baseline revision built exactly what create_all built (the first test checked
    so while the baseline was the only revision); create_all with today's models would build today's
    schema instead, so the baseline it is.
    """
    migrations.upgrade(engine, migrations.BASELINE)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
        connection.execute(
            sa.text(
                "INSERT INTO users (id, username, password_hash, role, is_active, created_at)"
                " VALUES (1, 'ada', 'scrypt:1:x', 'admin', :yes, :created)"
            ),
            {"yes": True, "created": T0},
        )


def test_an_instance_from_before_migrations_is_stamped_at_the_baseline_then_upgraded(engine):
    make_instance_from_before_migrations(engine)
    state = migrations.inspect_schema(engine)
    assert state.current is None and state.is_legacy

    result = migrations.upgrade(engine)

    assert (result.before, result.stamped_legacy, result.after) == (None, True, HEAD)
    assert migrations.inspect_schema(engine).is_up_to_date
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT username FROM users")).scalars().all() == ["ada"]
    assert migrations.upgrade(engine).has_changed is False


def test_the_cli_reports_an_instance_from_before_migrations_and_upgrades_it(database_url, tmp_path):
    app = create_app(app_config(tmp_path, DATABASE_URL=database_url))
    make_instance_from_before_migrations(app.extensions["kb.engine"])
    runner = app.test_cli_runner()
    assert "tables from before kb had migrations" in runner.invoke(args=["db", "current"]).output
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"recorded them at {migrations.BASELINE}" in result.output
    assert "the newest" in runner.invoke(args=["db", "current"]).output
    app.extensions["kb.engine"].dispose()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("CREATE TABLE users (id INTEGER PRIMARY KEY)", "has some of kb's tables but not api_tokens, articles"),
        (
            "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY); "
            "INSERT INTO alembic_version VALUES ('9999')",
            "at schema revision 9999, which this version of kb does not know",
        ),
    ],
    ids=["half-a-schema", "newer-than-this-kb"],
)
def test_a_database_kb_cannot_place_is_refused_with_a_reason(database_url, tmp_path, sql, message):
    app = create_app(app_config(tmp_path, DATABASE_URL=database_url))
    engine = app.extensions["kb.engine"]
    with engine.begin() as connection:
        for statement in sql.split("; "):
            connection.exec_driver_sql(statement)
    tables_before = set(sa.inspect(engine).get_table_names())
    for args in (["db", "upgrade"], ["db", "current"], ["search", "vpn"]):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
    assert set(sa.inspect(engine).get_table_names()) == tables_before
    engine.dispose()


# --- (4) kb db upgrade ----------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema_then_has_nothing_to_do(database_url, tmp_path):
    app = create_app(app_config(tmp_path, DATABASE_URL=database_url))
    runner = app.test_cli_runner()
    assert "the database is empty" in runner.invoke(args=["db", "current"]).output

    first = runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"Created the schema in an empty database: now at {HEAD} (" in first.output

    second = runner.invoke(args=["db", "upgrade"])
    assert second.exit_code == 0, second.output
    assert f"already at {HEAD} (" in second.output and "nothing to do" in second.output

    current = runner.invoke(args=["db", "current"])
    assert current.exit_code == 0 and current.output.startswith(f"{HEAD} (") and "the newest" in current.output
    app.extensions["kb.engine"].dispose()


# --- (5) several processes starting at once ---------------------------------------------------------

# Each racer builds its app, says it is ready, waits for the word, then runs `kb db upgrade`.
RACER = """
import sys
from kb import create_app

runner = create_app().test_cli_runner()
print("ready", flush=True)
sys.stdin.readline()
result = runner.invoke(args=["db", "upgrade"])
print(result.output, end="")
if result.exception is not None and not isinstance(result.exception, SystemExit):
    import traceback
    traceback.print_exception(result.exception)
sys.exit(result.exit_code or (result.exception is not None))
"""


def test_processes_upgrading_a_new_database_at_the_same_moment_all_succeed(database_url, tmp_path):
    environment = {
        **os.environ,
        "KB_DATABASE_URL": database_url,
        "KB_INDEX_DIR": str(tmp_path / "index"),
        "KB_SECRET_KEY": "racer",
    }
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER],
            cwd=tmp_path,
            env=environment,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    for racer in racers:
        assert racer.stdout.readline() == "ready\n"
    for racer in racers:  # as close to the same moment as two writes can be
        racer.stdin.write("go\n")
        racer.stdin.flush()
    outputs = [racer.communicate(timeout=120)[0] for racer in racers]

    assert [racer.returncode for racer in racers] == [0, 0, 0], "\n---\n".join(outputs)
    assert sum("Created the schema" in output for output in outputs) == 1, outputs
    assert sum("nothing to do" in output for output in outputs) == 2, outputs
    engine = make_engine(database_url)
    assert migrations.inspect_schema(engine).is_up_to_date
    engine.dispose()


def test_revision_0004_fills_in_links_and_scores_of_existing_articles(engine):
    migrations.upgrade(engine, "0003")
    tables = reflect(engine)
    with engine.begin() as connection:
        articles = [{**row, "created_by_id": None, "updated_by_id": None} for row in FIRST_REVISION_ROWS["articles"]]
        connection.execute(tables["articles"].insert(), articles)
        connection.execute(
            tables["articles"].update().where(tables["articles"].c.id == 2),
            {
                "body": "## What is going on\n\nIt moved: see [[printer-offline-old]] and [VPN](vpn-connected-but-nothing-loads).\n"
            },
        )
    migrations.upgrade(engine, "0004")
    tables = reflect(engine)
    with engine.connect() as connection:
        links = connection.execute(
            sa.select(
                tables["article_links"].c.article_id,
                tables["article_links"].c.target_slug,
                tables["article_links"].c.line,
            ).order_by(tables["article_links"].c.target_slug)
        ).all()
        scores = dict(connection.execute(sa.select(tables["articles"].c.id, tables["articles"].c.quality)).all())
    assert [tuple(row) for row in links] == [(2, "printer-offline-old", 3), (2, "vpn-connected-but-nothing-loads", 3)]
    assert scores[1] < 100 and scores[2] < 100  # both lack sections; neither is empty
    assert scores[1] != scores[2]


def test_revision_0005_gives_articles_their_creator_as_owner_and_published_ones_a_review_date(engine):
    migrations.upgrade(engine, "0004")
    tables = reflect(engine)
    user = {**FIRST_REVISION_ROWS["users"][0], "session_generation": 0}
    with engine.begin() as connection:
        connection.execute(tables["users"].insert(), [user])
        connection.execute(
            tables["articles"].insert(),
            [
                {**row, "created_by_id": 1 if row["id"] == 1 else None, "updated_by_id": None, "quality": 100}
                for row in FIRST_REVISION_ROWS["articles"]
            ],
        )
    migrations.upgrade(engine, "0005")
    articles = reflect(engine)["articles"]
    with engine.connect() as connection:
        rows = {
            r.id: r for r in connection.execute(sa.select(articles.c.id, articles.c.owner_id, articles.c.review_by))
        }
    assert rows[1].owner_id == 1 and rows[2].owner_id is None
    published = FIRST_REVISION_ROWS["articles"][0]  # published, verified at T1
    assert _comparable({"at": rows[1].review_by}) == _comparable({"at": published["verified_at"] + timedelta(days=180)})
    assert rows[2].review_by is None  # a draft is not due anything


def test_revision_0009_indexes_the_stems_of_the_gap_wordings_already_seen(engine):
    migrations.upgrade(engine, "0008")
    tables = reflect(engine)
    gap = {"label": "printer offline", "created_at": T0, "state": "open", "action": "", "reason": "", "version": 1}
    wordings = [("offlin printer", T0), ("jam paper printer", T1)]
    with engine.begin() as connection:
        connection.execute(tables["gaps"].insert(), [{**gap, "id": 1}, {**gap, "id": 2, "label": "paper jam"}])
        connection.execute(
            tables["gap_aliases"].insert(),
            [{"signature": s, "gap_id": n, "created_at": at} for n, (s, at) in enumerate(wordings, start=1)],
        )
    migrations.upgrade(engine, "0009")
    stems = reflect(engine)["gap_alias_stems"]
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(stems.c.stem, stems.c.signature, stems.c.gap_id).order_by(stems.c.stem, stems.c.signature)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("jam", "jam paper printer", 2),
        ("offlin", "offlin printer", 1),
        ("paper", "jam paper printer", 2),
        ("printer", "jam paper printer", 2),
        ("printer", "offlin printer", 1),
    ]
