"""The starter articles teach understanding, not scripts: every one follows the same structure."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import PROJECT_ROOT

ARTICLES = sorted((PROJECT_ROOT / "articles").glob("*.md"))
SECTIONS = ["What the customer notices", "What is going on", "How to confirm", "Resolution", "Prevent it", "Related"]


def parts(path):
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def test_there_are_enough_articles_about_it_problems_and_the_craft():
    products = [parts(p)[0]["product"] for p in ARTICLES]
    assert sum(1 for p in products if p != "Support craft") >= 25
    assert products.count("Support craft") >= 3


@pytest.mark.parametrize("path", ARTICLES, ids=[p.stem for p in ARTICLES])
def test_article_follows_the_understanding_first_structure(path):
    meta, body = parts(path)
    assert meta["slug"] == path.stem and meta["title"] and meta["summary"]
    assert meta["status"] == "published"
    headings = re.findall(r"^## (.+)$", body, flags=re.MULTILINE)
    assert headings == SECTIONS, headings
    notices = body.split("## What is going on")[0]
    assert len(re.findall(r'^- "', notices, flags=re.MULTILINE)) >= 3, "needs several phrasings in customers' words"
    assert not re.search(r"^\s*(Say|Agent says|Script)\s*:", body, flags=re.MULTILINE | re.IGNORECASE), (
        "no call scripts"
    )


def test_related_links_point_to_existing_articles():
    slugs = {p.stem for p in ARTICLES}
    for path in ARTICLES:
        related = parts(path)[1].split("## Related", 1)[1]
        targets = re.findall(r"\]\(([^)]+)\)", related)
        assert targets, f"{path.name}: Related links to no article"
        for target in targets:
            assert target in slugs, (path.name, target)
