"""Where kb keeps its data: the data folder, its instance folder, and the variables that move them."""

from __future__ import annotations

import stat

import pytest

from kb import PROJECT_ROOT, create_app

PATH_VARIABLES = ("KB_DATA_DIR", "KB_DATABASE_URL", "KB_INDEX_DIR", "KB_SECRET_KEY", "KB_ARTICLES_DIR")


@pytest.fixture(autouse=True)
def no_path_variables(monkeypatch):
    for name in PATH_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_folder_defaults_to_the_folder_kb_starts_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = create_app({"TESTING": True})
    assert app.config["DATA_DIR"] == str(tmp_path.resolve())
    assert app.instance_path == str(tmp_path.resolve() / "instance")
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path.resolve() / 'instance' / 'kb.db'}"
    assert app.config["INDEX_DIR"] == str(tmp_path.resolve() / "search_index")


def test_instance_folder_and_secret_key_are_private_and_the_key_survives_a_restart(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    first = create_app({"TESTING": True})
    assert mode(tmp_path / "data" / "instance") == 0o700
    assert mode(tmp_path / "data" / "instance" / "secret_key") == 0o600
    assert create_app({"TESTING": True}).config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_kb_data_dir_holds_instance_and_index_wherever_kb_starts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    app = create_app({"TESTING": True})
    assert app.instance_path == str(tmp_path / "data" / "instance")
    assert app.config["INDEX_DIR"] == str(tmp_path / "data" / "search_index")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data"]


def test_database_url_index_dir_and_secret_key_override_their_parts(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KB_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("KB_SECRET_KEY", "12345")
    app = create_app({"TESTING": True})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'elsewhere.db'}"
    assert app.config["INDEX_DIR"] == str(tmp_path / "index")
    assert app.config["SECRET_KEY"] == "12345"
    assert app.instance_path == str(tmp_path / "data" / "instance")
    assert not (tmp_path / "data").exists(), "nothing to keep in the data folder, so nothing is written there"


def test_a_checkout_serves_its_own_templates_and_starter_articles(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    assert app.jinja_loader.searchpath == [str(PROJECT_ROOT / "templates")]
    assert app.config["ARTICLES_DIR"] == str(PROJECT_ROOT / "articles")
