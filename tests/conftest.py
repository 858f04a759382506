"""Fixtures: a real kb app on a temporary database and Whoosh index, a client that logs in
with real forms (CSRF stays on), and the CLI runner.

The database is a SQLite file in the test's folder, or a PostgreSQL database of its own when
KB_TEST_DATABASE_URL names a server (see databases.py).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import apispec
import databases
import pytest
import yaml
from flask.testing import FlaskClient

from kb import PROJECT_ROOT, auth, background, create_app
from kb import search as kb_search
from kb.db import create_schema, get_session
from kb.models import Role

SHARED = Path(os.environ.get("KB_SHARED_DIR", PROJECT_ROOT.parent / "shared"))
STARTER = PROJECT_ROOT / "articles"
PASSWORD = "correct horse battery"


def starter_articles() -> list[Path]:
    """The starter article files: tests count these instead of writing today's number down."""
    return sorted(STARTER.glob("*.md"))


def starter_list(name: str) -> list:
    """The entries of one of the starter YAML lists (`synonyms.yaml`, `golden-queries.yaml`)."""
    return yaml.load((STARTER / name).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def app_config(folder: Path, **overrides) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATA_DIR": str(folder),  # instance files (secret key, attachments) stay in the test's folder
        "DATABASE_URL": databases.database_url(folder),
        "INDEX_DIR": str(folder / "index"),
        "RATELIMIT_ENABLED": False,
        "BACKGROUND": False,  # make_app starts the threads when a test serves
        "INSIGHTS_CACHE_SECONDS": 0,  # figures right after the data changes (test_loop_api tests the cache)
        **overrides,
    }


_running: list = []


def make_app(folder: Path, *, serving: bool = True, **overrides):
    """A kb app on `folder`; `serving` starts its background threads, as `kb serve` does."""
    app = create_app(app_config(folder, **overrides))
    with app.app_context():
        create_schema(app)
        kb_search.apply_pending(get_session())
    if serving:
        background.start(app)
        _running.append(app)
    return app


def pytest_report_header() -> str:
    return f"kb test database: {databases.BACKEND}"


@pytest.fixture(scope="session", autouse=True)
def _drop_session_databases():
    """Drop what session and module fixtures made (PostgreSQL) once the run is over."""
    with databases.dropping_new_databases():
        yield


@pytest.fixture(autouse=True)
def _drop_test_databases():
    """Drop the databases a test made (PostgreSQL) when it ends.

    Autouse fixtures start before the test's other function-scoped fixtures, and after the
    module- and session-scoped ones, so exactly the test's own databases are new here.
    """
    with databases.dropping_new_databases():
        yield


@pytest.fixture(autouse=True)
def _stop_background_threads():
    """Stop the apps' background threads before their databases are dropped (defined after it)."""
    yield
    while _running:
        background.stop(_running.pop())


@pytest.fixture(autouse=True)
def _api_responses_match_the_openapi_document():
    """Every JSON API response any test gets must be one /api/v1/openapi.json describes."""
    with apispec.recording() as seen:
        yield
    problems = apispec.problems(seen)
    assert not problems, "API responses that the OpenAPI document does not describe:\n" + "\n".join(problems)


def indexed(app) -> None:
    """Wait until the app's index writer has applied every change committed so far."""
    if background.wait_until_indexed(app):
        return
    writer, rechecks, _flusher = app.extensions["kb.background"]
    with app.app_context():
        pending = kb_search.indexer.pending_events(get_session(), Path(app.config["INDEX_DIR"]))
    raise AssertionError(
        f"the index writer did not catch up within 10 s: {writer.status()}, "
        f"events pending {pending}, golden re-check batches pending {rechecks.pending()}"
    )


@pytest.fixture(scope="session")
def starter_folder(tmp_path_factory) -> Path:
    """A database and index with the starter articles imported once, copied by tests that need it."""
    folder = tmp_path_factory.mktemp("starter")
    app = make_app(folder, serving=False)
    result = app.test_cli_runner().invoke(args=["import", str(PROJECT_ROOT / "articles")])
    assert result.exit_code == 0, result.output
    # Let go of the database: PostgreSQL copies a template only while nobody is connected to it.
    app.extensions["kb.engine"].dispose()
    return folder


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def starter_copy(starter_folder: Path, folder: Path, *, serving: bool = True):
    """An app on a private copy of the starter instance (database and index) in `folder`."""
    shutil.copytree(starter_folder, folder, dirs_exist_ok=True)  # the index, and the SQLite file
    databases.copy_database(starter_folder, folder)
    return make_app(folder, serving=serving)


@pytest.fixture
def starter_app(tmp_path, starter_folder):
    """An app whose database already holds the starter articles (a private copy per test)."""
    return starter_copy(starter_folder, tmp_path)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class KbClient(FlaskClient):
    """A test client that submits forms the way a browser does: with the page's CSRF token."""

    def csrf_token(self, page: str = "/login") -> str:
        html = self.get(page).get_data(as_text=True)
        # Signed-in pages carry it for scripts in a meta tag; the login page only in its form.
        match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
            r'name="csrf_token" value="([^"]+)"', html
        )
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def submit(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(kwargs.pop("token_page", "/login")))
        return self.post(url, data=data, **kwargs)

    def login(self, username: str, password: str = PASSWORD):
        response = self.submit("/login", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


def add_user(app, username: str, role: Role | str, password: str = PASSWORD) -> None:
    with app.app_context():
        session = get_session()
        auth.create_user(session, username, Role(role), password)
        session.commit()


def make_token(app, username: str) -> str:
    with app.app_context():
        session = get_session()
        secret = auth.create_token(session, auth.find_user(session, username))
        session.commit()
        return secret


def token_client(app, username: str, role: Role | str) -> FlaskClient:
    """A client sending a new user's API token on every request, as a helpdesk tool would."""
    add_user(app, username, role)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, username)}"
    return client


@pytest.fixture
def client(app) -> KbClient:
    app.test_client_class = KbClient
    return app.test_client()


def client_for(app, role: str | None) -> KbClient:
    """A client logged in as a fresh user with `role` (anonymous when role is None)."""
    app.test_client_class = KbClient
    client = app.test_client()
    if role is not None:
        add_user(app, f"{role}-user", role)
        client.login(f"{role}-user")
    return client


@pytest.fixture
def agent(starter_app) -> KbClient:
    return client_for(starter_app, "agent")


@pytest.fixture
def author(starter_app) -> KbClient:
    return client_for(starter_app, "author")


@pytest.fixture
def admin(starter_app) -> KbClient:
    return client_for(starter_app, "admin")
