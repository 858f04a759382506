"""Import and export of article files through the `kb` CLI, against a real database and index."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, STARTER, add_user, make_app, token_client
from sqlalchemy import func, select

from kb import store
from kb.db import get_session
from kb.models import Article, Revision, Role

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
    """`articles/` is what `kb export` writes, so exporting a fresh instance reproduces it, plus
    the review-by date each published article got when it was imported (today + 180 days)."""
    runner.invoke(args=["import", str(PROJECT_ROOT / "articles")])
    runner.invoke(args=["export", str(tmp_path / "out")])
    due = (datetime.now(timezone.utc) + timedelta(days=180)).date().isoformat()
    for source in sorted((PROJECT_ROOT / "articles").glob("*.md")):
        lines = (tmp_path / "out" / source.name).read_bytes().splitlines(keepends=True)
        review = [line for line in lines if line.startswith(b"review_by: ")]
        assert len(review) == 1 and due.encode() in review[0], source.name
        assert b"".join(line for line in lines if line not in review) == source.read_bytes(), source.name


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


# --- hostile files: each is refused with its place and reason, the good ones still import -------


def alias_bomb(levels: int = 6) -> str:
    """Front matter whose aliases stand for 9**levels values (the 'billion laughs', kept small)."""
    lines = ["---", "title: Laughs", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join([*lines, "---", "Body", ""])


HOSTILE_FILES = [
    ("bomb.md", alias_bomb(), "bomb.md:3: front matter: anchors and aliases ('&name', '*name') are not accepted"),
    (
        # YAML rejects line 2 (a quoting slip), and the line-by-line reading must not take the anchor either.
        "misquoted-anchor.md",
        '---\ntitle: "Server Busy" error\ntags: &t [a, b]\n---\nBody\n',
        "misquoted-anchor.md:3: front matter: anchors and aliases",
    ),
    ("deep.md", "---\ntitle: Deep\nx: " + "[" * 3000 + "\n---\nBody\n", "deep.md:3: front matter: nested deeper than"),
    (
        "huge-number.md",
        f"---\ntitle: Number\nsize: {'9' * 5000}\n---\nBody\n",
        "huge-number.md:3: front matter: a value kb cannot read",
    ),
    (
        "big-front-matter.md",
        "---\ntitle: Big\n" + "".join(f"key{i}: {'x' * 60}\n" for i in range(2000)) + "---\nBody\n",
        "big-front-matter.md:1: front matter is longer than 65,536 characters",
    ),
    ("surrogate.md", '---\ntitle: Odd tag\ntags: ["x\\ud800y"]\n---\nBody\n', "surrogate.md:3: tags:"),
    ("empty.md", b"", "empty.md: the file is empty"),
]


@pytest.mark.parametrize("name,content,message", HOSTILE_FILES, ids=[h[0] for h in HOSTILE_FILES])
def test_hostile_file_is_refused_with_its_place_and_good_files_still_import(
    app, runner, tmp_path, name, content, message
):
    write(tmp_path / "in", "good.md", GOOD)
    write(tmp_path / "in", name, content)
    result = runner.invoke(args=["import", str(tmp_path / "in")])
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)  # a message, exit 1
    assert "1 created" in result.output and "1 skipped" in result.output
    with app.app_context():
        assert store.find_by_slug(get_session(), "vpn-nothing-loads") is not None


def test_a_file_far_larger_than_an_article_is_refused_from_its_size(app, runner, tmp_path):
    write(tmp_path / "in", "good.md", GOOD)
    with open(tmp_path / "in" / "huge.md", "wb") as sparse:  # 50 MB on paper, nothing on disk
        sparse.write(b"---\ntitle: Huge\n---\n")
        sparse.truncate(50 * 1024 * 1024)
    result = runner.invoke(args=["import", str(tmp_path / "in")])
    assert result.exit_code == 1
    assert "huge.md: the file is 52,428,800 bytes, more than an article may be" in result.output
    assert "1 created" in result.output


def test_every_good_file_imports_when_bad_ones_sit_between_them(app, runner, tmp_path):
    folder = tmp_path / "in"
    for number in range(3):
        write(folder, f"{number}-good.md", GOOD.replace("vpn-nothing-loads", f"good-{number}"))
    write(folder, "1-number.md", f"---\ntitle: {'1' * 5000}\n---\nBody\n")  # once ended the import
    write(folder, "1-surrogate.md", '---\ntitle: "Bad \\udc00"\n---\nBody\n')
    write(folder, "2-bomb.md", alias_bomb())
    result = runner.invoke(args=["import", str(folder)])
    assert result.exit_code == 1
    assert "3 created, 0 updated, 0 unchanged, 3 skipped." in result.output
    assert "1-number.md:2:" in result.output and "2-bomb.md:3:" in result.output
    assert "1-surrogate.md:2: title:" in result.output and "surrogate" in result.output
    assert "3 file(s) could not be imported" in result.output
    with app.app_context():
        assert {a.slug for a in store.list_articles(get_session(), role=Role.ADMIN)} == {"good-0", "good-1", "good-2"}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_symbolic_links_never_lead_the_import_out_of_its_folder(app, runner, tmp_path):
    outside, folder = tmp_path / "outside", tmp_path / "in"
    write(outside, "secret.md", GOOD.replace("vpn-nothing-loads", "secret"))
    write(folder, "good.md", GOOD)
    write(folder, "sub/inner.md", GOOD.replace("vpn-nothing-loads", "inner"))
    (folder / "secret.md").symlink_to(outside / "secret.md")
    (folder / "elsewhere").symlink_to(outside, target_is_directory=True)
    (folder / "loop.md").symlink_to(folder / "loop.md")
    (folder / "again").symlink_to(folder, target_is_directory=True)  # a folder loop: walked once
    (folder / "alias.md").symlink_to(folder / "sub" / "inner.md")  # the same file: imported once
    result = runner.invoke(args=["import", str(folder)])
    assert result.exit_code == 1
    assert (
        f"secret.md: a symbolic link to {(outside / 'secret.md').resolve()}, outside the imported folder"
        in result.output
    )
    assert f"elsewhere: a symbolic link to {outside.resolve()}, outside the imported folder" in result.output
    assert "loop.md: a broken or looping symbolic link" in result.output
    assert "2 created, 0 updated, 0 unchanged, 3 skipped." in result.output
    with app.app_context():
        assert {a.slug for a in store.list_articles(get_session(), role=Role.ADMIN)} == {"vpn-nothing-loads", "inner"}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_pipe_named_like_an_article_is_reported_not_waited_on(app, runner, tmp_path):
    write(tmp_path / "in", "good.md", GOOD)
    os.mkfifo(tmp_path / "in" / "pipe.md")  # reading it would wait for a writer forever
    result = runner.invoke(args=["import", str(tmp_path / "in")])
    assert "pipe.md: not a regular file" in result.output and "1 created" in result.output


def test_anchors_in_the_imported_synonyms_file_are_refused_with_the_line(app, runner, tmp_path):
    write(tmp_path / "in", "good.md", GOOD)
    write(tmp_path / "in", "synonyms.yaml", "- &wifi [wifi, wireless]\n- *wifi\n")
    result = runner.invoke(args=["import", str(tmp_path / "in")])
    assert result.exit_code == 1
    assert "synonyms.yaml:1: not valid YAML (anchors and aliases" in result.output
    assert "1 created" in result.output


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_a_synonyms_file_linked_from_outside_the_folder_is_refused(app, runner, tmp_path):
    write(tmp_path / "outside", "synonyms.yaml", "- [wifi, wireless]\n")
    write(tmp_path / "in", "good.md", GOOD)
    (tmp_path / "in" / "synonyms.yaml").symlink_to(tmp_path / "outside" / "synonyms.yaml")
    result = runner.invoke(args=["import", str(tmp_path / "in")])
    assert result.exit_code == 1
    assert "synonyms.yaml: a symbolic link to" in result.output and "synonym groups added" not in result.output


def test_owner_review_date_and_verification_survive_export_and_import(starter_app, tmp_path):

    boss = token_client(starter_app, "boss", "admin")
    add_user(starter_app, "keeper", "author")
    slug = "printer-shows-offline"
    version = boss.get(f"/api/v1/articles/{slug}").get_json()["version"]
    assert boss.put(f"/api/v1/articles/{slug}", json={"owner": "keeper", "version": version}).status_code == 200
    verified = boss.post(f"/api/v1/articles/{slug}/verify", json={"version": version}).get_json()["article"]
    runner = starter_app.test_cli_runner()
    first = tmp_path / "first"
    assert runner.invoke(args=["export", str(first)]).exit_code == 0
    text = (first / f"{slug}.md").read_text(encoding="utf-8")
    assert "owner: keeper" in text and "verified_by: boss" in text and verified["review_by"] in text

    fresh = make_app(tmp_path / "fresh")
    add_user(fresh, "keeper", "author")  # 'boss' is not a user there: kept as written, with a warning
    fresh_runner = fresh.test_cli_runner()
    imported = fresh_runner.invoke(args=["import", str(first)])
    assert imported.exit_code == 0 and "verified_by 'boss' is not a user here" in imported.output
    second = tmp_path / "second"
    assert fresh_runner.invoke(args=["export", str(second)]).exit_code == 0
    assert (second / f"{slug}.md").read_bytes() == (first / f"{slug}.md").read_bytes()
    with fresh.app_context():
        article = store.find_by_slug(get_session(), slug)
        assert article.owner.username == "keeper"
        assert article.review_by.isoformat() == verified["review_by"]
        assert article.verified_by is None and article.extra["verified_by"] == "boss"
