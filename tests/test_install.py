"""kb installed as it is deployed: a wheel in a fresh virtual environment, served from an empty folder.

A checkout hides packaging mistakes (templates and articles sit beside the package there), so these
tests build the wheel, install it with its dependencies from the package index or pip's cache, and
use it the way an operator would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import urllib.error
import zipfile
from pathlib import Path

import pytest
from kbserver import KbServer
from test_serve import browser, login

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
# What builds and runs leave in a working tree: the wheel is built from a copy without them, as
# from a clean clone (setuptools would otherwise reuse a stale build/ and write into the checkout).
LEFT_BY_BUILDS_AND_RUNS = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "instance", "search_index", "runs"
)


def run(args: list, *, timeout: float, cwd: Path | None = None) -> str:
    """Run a command within `timeout` seconds and return its output; a failure or a hang fails the test."""
    shown = " ".join(map(str, args))
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{shown}: no result within {timeout} s")
    if done.returncode != 0:
        pytest.fail(f"{shown}: exit code {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(REPO, source, ignore=LEFT_BY_BUILDS_AND_RUNS)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", source], timeout=300)
    (built,) = (work / "dist").glob("kb-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel and its dependencies installed."""
    folder = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", folder], timeout=120)
    run([folder / "bin" / "python", "-m", "pip", "install", "-q", wheel], timeout=600)
    return folder


def shipped_files() -> set[str]:
    """The wheel paths of everything kb needs at run time, listed from the repository."""
    code = {f"kb/{path.relative_to(REPO / 'kb').as_posix()}" for path in (REPO / "kb").rglob("*.py")}
    static = {f"kb/static/{path.name}" for path in (REPO / "kb" / "static").iterdir() if path.is_file()}
    templates = {
        f"kb/templates/{path.relative_to(REPO / 'templates').as_posix()}"
        for path in (REPO / "templates").rglob("*")
        if path.is_file()
    }
    articles = {f"kb/articles/{path.name}" for path in (REPO / "articles").glob("*") if path.suffix in (".md", ".yaml")}
    return code | static | templates | articles


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns) for path in folder.rglob("*")}


def test_wheel_carries_code_templates_static_files_and_starter_articles(wheel):
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert sorted(shipped_files() - in_wheel) == [], "add the missing subpackage or pattern to setup.cfg"
    assert {
        "kb/templates/errors/error.html",
        "kb/articles/synonyms.yaml",
        "kb/articles/golden-queries.yaml",
    } <= in_wheel


def test_installed_kb_serves_from_an_empty_folder_and_writes_only_there(venv, tmp_path):
    package = Path(run([venv / "bin" / "python", "-c", "import kb; print(kb.__file__)"], timeout=60, cwd=tmp_path))
    package = package.parent
    assert package.is_relative_to(venv), f"the fresh venv must run its installed kb, not {package}"
    site_packages = package.parent
    before = snapshot(site_packages)
    data = tmp_path / "data"
    data.mkdir()

    # The embedded default on every run: this test is about the package, not the database.
    with KbServer(data, command=[str(venv / "bin" / "kb")], own_database=False) as server:
        assert f"starter articles from {package / 'articles'}" in server.output
        password = re.search(r"Created admin account 'admin' with password: (\S+)", server.output).group(1)
        opener = browser()
        assert 'id="kb-q"' in login(opener, server.url, "admin", password)
        assert "printer-shows-offline" in opener.open(server.url + "?q=printer+offline").read().decode()
        assert opener.open(server.url + "static/kb.css").status == 200
        with pytest.raises(urllib.error.HTTPError) as missing:
            opener.open(server.url + "no-such-page")
        assert missing.value.code == 404, "the error page renders from the installed templates"

    assert (data / "instance" / "kb.db").is_file()
    assert (data / "instance" / "secret_key").is_file()
    assert any((data / "search_index").iterdir())
    assert snapshot(site_packages) == before, "kb wrote inside site-packages"
