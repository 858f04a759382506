"""Import and export of article files through the `kb` CLI, against a real database and index."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, STARTER, make_app
from sqlalchemy import func, select

from kb import store
from kb.db import get_session
from kb.models import Article, Revision

GOOD = """---
title: VPN connects but nothing loads
slug: vpn-nothing-loads
summary: The tunnel is up but names do not resolve.
product: VPN
audience: internal
status: published
tags: [vpn, dns]
owner_team: network
---
## What the customer notices

- "It says connected but nothing opens"
"""


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def counts(app) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        return (
            session.scalar(select(func.count(Article.id))),
            session.scalar(select(func.count(Revision.id))),
        )


def test_import_creates_article_with_every_field(app, runner, tmp_path):
    write(tmp_path / "in", "vpn.md", GOOD)
    result = runner.invoke(args=["import", str(tmp_path / "in")])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    with app.app_context():
        article = store.find_by_slug(get_session(), "vpn-nothing-loads")
        assert article.title == "VPN connects but nothing loads"
        assert article.tags == ["vpn", "dns"]
        assert article.product == "VPN"
        assert article.status.value == "published"
        assert article.extra == {"owner_team": "network"}
        assert article.body.startswith("## What the customer notices")
        assert len(article.revisions) == 1


def test_importing_the_same_files_again_changes_nothing(app, runner, tmp_path):
    write(tmp_path / "in", "vpn.md", GOOD)
    runner.invoke(args=["import", str(tmp_path / "in")])
    before = counts(app)
    result = runner.invoke(args=["import", str(tmp_path / "in")])
    assert result.exit_code == 0
    assert "0 created, 0 updated, 1 unchanged" in result.output
    assert counts(app) == before


def test_a_changed_file_adds_a_revision_and_keeps_the_old_one(app, runner, tmp_path):
    path = write(tmp_path / "in", "vpn.md", GOOD)
    runner.invoke(args=["import", str(path)])
    write(tmp_path / "in", "vpn.md", GOOD.replace("nothing opens", "nothing opens at all"))
    result = runner.invoke(args=["import", str(path)])
    assert "1 updated" in result.output
    with app.app_context():
        article = store.find_by_slug(get_session(), "vpn-nothing-loads")
        assert [r.number for r in article.revisions] == [1, 2]
        assert "nothing opens at all" not in article.revisions[0].body
        assert "nothing opens at all" in article.revisions[1].body


def test_export_import_export_is_byte_identical(app, runner, tmp_path):
    runner.invoke(args=["import", str(PROJECT_ROOT / "articles")])
    write(tmp_path / "odd", "odd.md", GOOD.replace("vpn-nothing-loads", "odd-one") + "\nUnicode: café – ✓\n")
    runner.invoke(args=["import", str(tmp_path / "odd")])
    first = tmp_path / "first"
    assert runner.invoke(args=["export", str(first)]).exit_code == 0

    fresh = make_app(tmp_path / "fresh")
    fresh_runner = fresh.test_cli_runner()
    assert fresh_runner.invoke(args=["import", str(first)]).exit_code == 0
    second = tmp_path / "second"
    assert fresh_runner.invoke(args=["export", str(second)]).exit_code == 0

    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert set(names) == {p.name for p in STARTER.iterdir()} | {"odd-one.md"}
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert "owner_team: network" in (first / "odd-one.md").read_text(encoding="utf-8")


def test_starter_articles_are_already_in_export_form(app, runner, tmp_path):
    """`articles/` is what `kb export` writes, so exporting a fresh instance reproduces it."""
    runner.invoke(args=["import", str(PROJECT_ROOT / "articles")])
    runner.invoke(args=["export", str(tmp_path / "out")])
    for source in sorted((PROJECT_ROOT / "articles").glob("*.md")):
        assert (tmp_path / "out" / source.name).read_bytes() == source.read_bytes(), source.name


BAD_FILES = [
    (
        "broken-yaml.md",
        "---\ntitle: Broken\ntags: [vpn, wifi\n---\nBody\n",
        "broken-yaml.md:3: front matter is not valid YAML",
    ),
    ("no-title.md", "---\nsummary: Nothing else\nstatus: draft\n---\nBody\n", "no-title.md: missing title"),
    ("latin1.md", "---\ntitle: Caf\xe9\n---\nBody\n".encode("latin-1"), "latin1.md:2: not UTF-8 text"),
    (
        "bad-status.md",
        "---\ntitle: Odd status\nstatus: finished\n---\nBody\n",
        "bad-status.md:3: unknown status 'finished'",
    ),
    ("no-front-matter.md", "# Just a heading\n", "no-front-matter.md:1: no front matter"),
    ("unclosed.md", "---\ntitle: Never closed\n", "unclosed.md:1: front matter is not closed"),
    ("bad-slug.md", "---\ntitle: Bad slug\nslug: Not A Slug!\n---\nBody\n", "bad-slug.md:3: slug: 'Not A Slug!'"),
    ("bad-tags.md", "---\ntitle: Bad tags\ntags: {a: 1}\n---\nBody\n", "bad-tags.md:3: tags must be a list"),
    ("not-a-mapping.md", "---\n- just\n- a list\n---\nBody\n", "not-a-mapping.md:2: front matter must be"),
]


@pytest.mark.parametrize("name,content,message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_is_reported_skipped_and_good_files_still_import(app, runner, tmp_path, name, content, message):
    write(tmp_path / "in", "good.md", GOOD)
    write(tmp_path / "in", name, content)
    result = runner.invoke(args=["import", str(tmp_path / "in")])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert "1 created" in result.output
    with app.app_context():
        assert store.find_by_slug(get_session(), "vpn-nothing-loads") is not None


def test_duplicate_slug_in_one_import_names_both_files(app, runner, tmp_path):
    write(tmp_path / "in", "a.md", GOOD)
    write(tmp_path / "in", "b.md", GOOD.replace("nothing opens", "different body"))
    result = runner.invoke(args=["import", str(tmp_path / "in")])
    assert result.exit_code != 0
    assert "b.md: duplicate slug 'vpn-nothing-loads': already used by a.md" in result.output


def test_a_bad_file_never_touches_what_is_stored(app, runner, tmp_path):
    write(tmp_path / "in", "vpn.md", GOOD)
    runner.invoke(args=["import", str(tmp_path / "in")])
    before = counts(app)
    # Same slug, broken status: the stored article must stay as it was.
    write(
        tmp_path / "again",
        "vpn.md",
        GOOD.replace("status: published", "status: nonsense").replace("nothing opens", "X"),
    )
    result = runner.invoke(args=["import", str(tmp_path / "again")])
    assert result.exit_code != 0
    assert counts(app) == before
    with app.app_context():
        assert "nothing opens" in store.find_by_slug(get_session(), "vpn-nothing-loads").body


def test_lenient_reading_of_misquoted_front_matter(app, runner, tmp_path):
    text = '---\ntitle: "Server Busy" error when you scan\ndescription: "He said "hello" to me"\nms.date: 09/14/2020\n---\nBody\n'
    write(tmp_path / "in", "misquoted.md", text)
    result = runner.invoke(args=["import", str(tmp_path / "in")])
    assert result.exit_code == 0, result.output
    assert "misquoted.md:2: front matter is not valid YAML" in result.output
    with app.app_context():
        article = store.find_by_slug(get_session(), "misquoted")
        assert article.title == '"Server Busy" error when you scan'
        assert article.summary == 'He said "hello" to me'
        assert article.extra["ms.date"] == "09/14/2020"


def test_missing_path_and_empty_folder_are_clear_errors(runner, tmp_path):
    result = runner.invoke(args=["import", str(tmp_path / "nope")])
    assert result.exit_code != 0 and "does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(args=["import", str(tmp_path / "empty")])
    assert result.exit_code != 0 and "no .md article files found" in result.output
