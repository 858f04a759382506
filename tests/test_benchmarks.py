"""The benchmark scripts measure what they say: fair baselines, every latency mode, relevance targets
that fail the run, and suggest against search on e-mails. Small sizes only; nothing is timed here
(the figures are in benchmarks/README.md and README)."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
from conftest import SHARED
from kbserver import run_benchmark

REPO = Path(__file__).resolve().parent.parent
sys.path.append(str(REPO / "benchmarks"))

import emails  # noqa: E402
import evidence  # noqa: E402
import harness  # noqa: E402
import relevance  # noqa: E402
from corpus import Generator  # noqa: E402
from queries import CLASSES, TYPED_CLASSES, build_queries  # noqa: E402

REAL = SHARED / "data" / "real-articles"
needs_real_articles = pytest.mark.skipif(not (REAL / "articles").is_dir(), reason=f"no real articles at {REAL}")


# --- the FTS5 reference gets kb's conveniences ----------------------------------------------------


@pytest.fixture(scope="module")
def kb_rules():
    return harness.kb_query_rules()


def test_fts5_drops_the_stop_words_kb_drops(kb_rules):
    from kb.search.schema import STOP_WORDS

    assert kb_rules.stop_words == STOP_WORDS
    assert harness.fts5_expression("printer in the office", rules=kb_rules) == '"printer" OR "office"'


def test_fts5_drops_kbs_sentence_words_only_from_sentences(kb_rules):
    sentence = "my outlook keeps asking for my password again"
    assert (
        harness.fts5_expression(sentence, rules=kb_rules) == '"outlook" OR "keeps" OR "asking" OR "password" OR "again"'
    )
    assert harness.fts5_expression("my outlook", rules=kb_rules) == '"my" OR "outlook"'


def test_fts5_matches_the_typed_word_as_a_prefix_as_kb_does(kb_rules):
    assert harness.fts5_expression("printer offl", typing=True, rules=kb_rules) == '"printer" OR "offl"*'
    assert harness.fts5_expression("printer offl ", typing=True, rules=kb_rules) == '"printer" OR "offl"'
    assert harness.fts5_expression("printer o", typing=True, rules=kb_rules) == '"printer"'  # too short to complete
    assert harness.fts5_expression("printer offl", rules=kb_rules) == '"printer" OR "offl"'


def test_short_and_prefix_queries_are_sent_as_typed():
    queries = build_queries(list(Generator().articles(120)), 3)
    for kind in CLASSES:
        assert {q.typing for q in queries.measured[kind]} == {kind in TYPED_CLASSES}
    assert set(TYPED_CLASSES) == {"prefix", "short"}


# --- relevance: fair baselines, targets, rounding ---------------------------------------------------


def test_the_baselines_complete_the_typed_word():
    docs = [
        relevance.Doc("d1", "Printer offline", "The printer shows offline after sleep."),
        relevance.Doc("d2", "Outlook password", "Outlook keeps asking for the password."),
    ]
    assert relevance.baseline_text("printer offl", typing=True) == "printer offl*"
    assert relevance.baseline_text("printer offl ", typing=True) == "printer offl"
    for two_fields in (False, True):
        baseline = relevance.BaselineSystem(docs, two_fields=two_fields)
        assert baseline.search("passw", typing=True).doc_ids == ["d2"]
        assert baseline.search("passw", typing=False).doc_ids == []


def test_figures_are_never_rounded_in_kbs_favour():
    assert relevance.cut(0.8764667794958584) == "0.8764"
    assert relevance.raised(0.8764667794958584) == "0.8765"
    assert relevance.cut(0.9418) == relevance.raised(0.9418) == "0.9418"
    assert relevance.percent(10.87) == "+10.8%"


def scores_at(figures: dict[str, dict[str, float]]) -> dict:
    return {
        style: {"kb": dict(metrics), "baseline": dict(metrics), "bm25f": dict(metrics)}
        for style, metrics in figures.items()
    }


def test_kbs_figures_at_the_floor_commit_pass_its_floors_and_a_query_less_fails():
    results = relevance.check_targets(scores_at(relevance.KB_FLOORS))
    assert [r["pass"] for r in results] == [False, False, True]  # the absolute targets are above today's
    lower = {style: dict(metrics) for style, metrics in relevance.KB_FLOORS.items()}
    lower["short"][relevance.MRR] -= 1 / 619 / 10  # one query one rank lower
    floor = relevance.check_targets(scores_at(lower))[-1]
    assert not floor["pass"] and [low["figure"] for low in floor["lower"]] == ["short MRR@10"]


def tiny_judged_set(folder: Path, *, answerable: bool) -> Path:
    folder.mkdir()
    docs = [
        {"id": "vpn-drops", "title": "VPN connection drops every few minutes", "body": "Reinstall the VPN client."},
        {"id": "printer-offline", "title": "Printer shows offline", "body": "Restart the print spooler."},
        {"id": "outlook-password", "title": "Outlook keeps asking for a password", "body": "Clear saved credentials."},
    ]
    queries = [{"id": "q1", "text": "my vpn connection keeps dropping out"}]
    relevant = "vpn-drops" if answerable else "printer-offline"
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs), encoding="utf-8")
    (folder / "queries.jsonl").write_text(json.dumps(queries[0]), encoding="utf-8")
    (folder / "qrels.tsv").write_text(f"q1\t{relevant}\t1\n", encoding="utf-8")
    return folder


def test_a_missed_target_fails_the_run_unless_report_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(relevance, "RUNS_DIR", tmp_path / "runs")
    good = tiny_judged_set(tmp_path / "good", answerable=True)
    bad = tiny_judged_set(tmp_path / "bad", answerable=False)
    assert relevance.main(["--modes", "judged", "--data", str(good)]) == 0
    assert relevance.main(["--modes", "judged", "--data", str(bad)]) == 1
    assert relevance.main(["--modes", "judged", "--data", str(bad), "--report-only"]) == 0
    out = capsys.readouterr().out
    assert "FAIL  sentence nDCG@10: kb >= 0.93" in out and "not checked" in out
    assert "on short queries the last word is matched as a prefix" in out.replace("\n", " ")
    saved = [json.loads(p.read_text()) for p in sorted((tmp_path / "runs").glob("*.json"))]
    assert saved and all("q1" in run["ranks"]["sentence"] for run in saved)
    assert "(0 of 1 missed)" in out and "(1 of 1 missed)" in out  # the short query's evidence, found and not
    assert all(sum(group["queries"] for group in run["short_evidence"]) == 1 for run in saved)


def test_short_queries_are_grouped_by_what_their_typed_words_say_about_the_article():
    articles = [relevance.Doc(f"a{i}", f"Gmail topic{i}", f"gmail settings mail number{i}") for i in range(10)]
    said = evidence.Evidence(articles)
    assert said.group("hear lot goo", "a0") == 0  # nothing typed occurs in the article
    assert said.group("settings mail xy", "a0") == 1  # words all ten articles hold, not in the title
    assert said.group("gmail mail sett", "a0") == 2  # one title word, held by every article
    assert said.group("topi", "a0") == 2  # the half-typed word starts a title word
    assert said.group("gmail topi", "a0") == 3  # two title words
    assert said.group("number0 mail", "a0") == 3  # a word only this article holds
    assert said.group("mail number0", "a0") == 1  # half-typed: a start of words, not a word
    assert said.group("number1 mail", "a0") == 1  # distinctive, but of another article

    texts = {"q1": "hear lot goo", "q2": "number0 mail", "q3": "gmail mail sett"}
    qrels = {"q1": {"a0"}, "q2": {"a0"}, "q3": {"a0", "a1"}}
    found = {"q1": False, "q2": True, "q3": False}
    table = evidence.groups(said, texts, qrels, found)
    assert [(g.queries, g.misses) for g in table] == [(1, 1), (0, 0), (1, 1), (1, 0)]
    assert [g.name for g in table] == list(evidence.GROUPS)


# --- suggest against search on e-mails ---------------------------------------------------------------


@needs_real_articles
def test_emails_are_deterministic_and_mention_the_problem_in_the_middle():
    first, again = emails.build_emails(REAL), emails.build_emails(REAL)
    assert first == again
    assert {e.kind for e in first} == {"description", "error"}
    assert not any(e.id.split(":", 1)[1] in emails.MISMATCHED for e in first if e.kind == "description")
    for email in first:
        paragraphs = email.text.split("\n\n")
        assert email.problem in paragraphs[2] and email.problem not in (paragraphs[0] + paragraphs[-1])
        assert email.problem.strip(" .") not in paragraphs[1]
    shared = [e for e in first if e.kind == "error" and len(e.relevant) > 1]
    assert shared, "error texts several articles cite are answered by any of them"
    assert any(len(e.text) > 500 for e in first), "some e-mails are longer than the search limit"


@pytest.mark.slow
@needs_real_articles
def test_suggest_mode_compares_suggest_with_search(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(relevance, "RUNS_DIR", tmp_path)
    relevance.main(["--modes", "suggest", "--report-only"])
    out = capsys.readouterr().out
    run = json.loads(next(tmp_path.glob("relevance-*.json")).read_text())["suggest"]
    assert run["emails"] == {"description": 195, "error": 110}
    assert run["cut_for_search"] > 0 and "were sent cut to it" in out
    assert run["metrics"]["all"]["search"]["Recall@3"] > 0.5
    if run["available"]:
        assert "suggest" in run["metrics"]["all"] and run["target"]["pass"] in (True, False)
    else:
        assert "suggest endpoint not available" in out and run["target"]["pass"] is None
    assert not any("\n" in key or " " in key.split(":", 1)[1] for key in run["ranks"])  # ids, never e-mail text


# --- latency: every mode, end to end at a small size ---------------------------------------------------


@pytest.mark.slow
def test_latency_reports_every_mode_and_class(tmp_path):
    out, old = tmp_path / "latency.json", tmp_path / "old.json"
    old.write_text(json.dumps({"sizes": {"150": {"classes": {"short": {"kb": {"p95": 9.0}}}}}}))  # before modes
    args = ["--sizes", "150", "--per-class", "3", "--out", str(out), "--compare", str(old), "--votes-per-s", "4"]
    stdout = run_benchmark("latency.py", *args)
    run = json.loads(out.read_text())
    size = run["sizes"]["150"]
    assert list(size["modes"]) == ["idle", "words", "cold", "suggest", "writes", "concurrent"]
    for mode, figures in size["modes"].items():
        assert set(figures["classes"]) == ({"email", "transcript"} if mode == "suggest" else set(CLASSES))
        assert all(c["samples"] and c["errors"] == 0 for c in figures["classes"].values()), mode
        assert all(len(c["samples"]) == 3 for k, c in figures["classes"].items() if k != "transcript"), mode
    transcript = size["modes"]["suggest"]["classes"]["transcript"]["samples"][0]["query"]
    assert 15_000 <= len(transcript) <= 20_000 and transcript.count("Customer: ") > 50
    for mode in ("writes", "concurrent"):
        writes = size["modes"][mode]["writes"]
        assert writes["saves"] >= 1 and writes["votes"] >= 1 and writes["errors"] == 0, writes
    assert size["modes"]["concurrent"]["clients"] == 4
    # The meaning ranker's own time, read from each answer's Server-Timing: none with it off.
    assert size["modes"]["idle"]["classes"]["sentence"]["kb_meaning_ms"]["max"] > 0
    assert size["modes"]["suggest"]["classes"]["email"]["kb_meaning_ms"]["max"] > 0, "suggest's too"
    assert size["modes"]["words"]["all"]["kb_meaning_ms"]["max"] == 0
    assert "no query's time grew by more" in stdout and "meaning's p95 share" in stdout
    sentence = size["modes"]["idle"]["classes"]["sentence"]
    assert sentence["kb_less_meaning"]["p95"] < sentence["kb"]["p95"]
    assert "the" in run["fts5_rules"]["stop_words"] and run["fts5_rules"]["typing"]["short"] is True
    assert "| short | " in stdout and "| 9.0 |" in stdout  # the old run's p95, as idle
    assert "150 articles, under writes, 4 clients: every class p95 ≤ 200 ms" in stdout
    assert "150 articles, suggest (a whole message), one client: every class p95 ≤ 200 ms" in stdout


@pytest.mark.slow
def test_latency_reuses_a_kept_instance_of_the_same_code(tmp_path):
    kept = tmp_path / "instances"
    runs = []
    for n, mode in enumerate(["idle", "writes"]):
        out = tmp_path / f"run{n}.json"
        run_benchmark(
            "latency.py",
            "--sizes",
            "100",
            "--per-class",
            "2",
            "--modes",
            mode,
            "--save-every",
            "0.05",
            "--instances",
            str(kept),
            "--out",
            str(out),
        )
        runs.append(json.loads(out.read_text())["sizes"]["100"])
    assert (kept / "100" / "built.json").is_file()
    assert runs[1]["build"]["import_s"] == runs[0]["build"]["import_s"], "the second run imported again"
    assert all(c["errors"] == 0 for c in runs[1]["modes"]["writes"]["classes"].values()), (
        "the kept users' new tokens work"
    )
    assert runs[1]["modes"]["writes"]["writes"]["saves"] > 0
    with sqlite3.connect(kept / "100" / "kb.db") as db:
        assert db.execute("SELECT count(*) FROM revisions").fetchone()[0] == 100, "a run's saves reached the kept copy"


def test_a_kept_instance_is_rebuilt_only_when_the_code_that_builds_it_changes(tmp_path):
    """Ranking and views may change between runs and still measure the kept 50k instance; a
    change to the index's schema or the tables must build it again."""
    import shutil

    import latency

    code = tmp_path / "code"
    shutil.copytree(REPO / "kb", code / "kb", ignore=shutil.ignore_patterns("__pycache__"))
    key = latency.build_key(100, code)
    (code / "kb" / "search" / "engine.py").write_text("# ranking changed\n", encoding="utf-8")
    (code / "kb" / "views" / "api.py").write_text("# a view changed\n", encoding="utf-8")
    assert latency.build_key(100, code) == key
    for built_by in (
        "kb/search/schema.py",
        "kb/search/pairs.py",
        "kb/search/segment_builders.py",
        "kb/models/__init__.py",
        "kb/migrations/versions/0001_baseline.py",
    ):
        changed = tmp_path / built_by.replace("/", "-")
        shutil.copytree(code, changed)
        path = changed / built_by
        path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
        assert latency.build_key(100, changed) != key, built_by


def test_gaplog_measures_the_flush_and_the_write_lock_side_by_side_with_a_reference(tmp_path):
    out = tmp_path / "gaplog.json"
    stdout = run_benchmark(
        "gaplog.py", "--wordings", "200", "--searches", "160", "--reference", "HEAD", "--out", str(out)
    )
    runs = json.loads(out.read_text())["runs"]
    assert list(runs) == ["kb", "HEAD"]
    for figures in runs.values():
        assert figures["searches"] == 160 and figures["flush_ms_per_search"] > 0
        assert figures["transactions"] >= 160 // 16 and figures["lock_hold_ms"]["p95"] > 0
    assert "flush, ms per logged search" in stdout and "ratio" in stdout
