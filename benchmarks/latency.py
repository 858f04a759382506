"""Search latency of kb at 1k, 10k and 50k articles, idle, cold, under writes and with 4 clients.

Why: agents search while the customer talks, and search-as-you-type fires on every key, so a
slow query is felt at once. This measures what a helpdesk tool would see (HTTP to a real `kb
serve`, token auth, JSON, snippets) for five kinds of query agents type, at corpus sizes kb must
handle, and how far each is from a plain FTS5 baseline given the same conveniences on the same
machine. Each mode runs the same queries on a freshly started server, on a fresh copy of the
instance as built (see `working_copy`):

- idle: one client, nothing else happening;
- words: the same with meaning off (KB_SEARCH_MEANING=false): idle minus this is what the
  semantic part costs;
- cold: the same with kb's caches off (KB_SEARCH_TERM_CACHE_MB=0);
- writes: one client while an author saves an article every second through the API and an
  agent votes at a steady rate;
- concurrent: 4 clients at once, each sending its share of the queries back to back, under
  the same writes;
- suggest: one client sending whole messages to `POST /api/v1/suggest`: a chatty e-mail around
  each sentence query, and call transcripts of about 15,000 characters mentioning three problems.

It also times `kb import` and `kb reindex`, since those bound how fast a large knowledge base can
be brought in or repaired.

    .venv/bin/python benchmarks/latency.py [--sizes 1000,10000,50000] [--per-class 200]
                                           [--modes idle,words,cold,writes,concurrent]
                                           [--out PATH] [--compare PREVIOUS.json]
                                           [--workers N] [--instances DIR]

Progress goes to stderr, the tables to stdout, the raw figures to a JSON file.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import SEED, Article, Generator, write_corpus  # noqa: E402
from emails import call_transcript, chatty_email  # noqa: E402
from harness import AGENT_USER, Fts5Reference, KbInstance, QueryRules, kb_query_rules, snapshot_kb  # noqa: E402
from metrics import distribution  # noqa: E402
from queries import CLASSES, TYPED_CLASSES, Query, QuerySet, build_queries  # noqa: E402
from traffic import SteadyWrites  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RUNS_DIR = REPO / "benchmarks" / "runs"
DEFAULT_SIZES = (1_000, 10_000, 50_000)
SYNONYMS_FILE = "synonyms.yaml"
# The order modes run in: the two with writes last, since their saves change the index.
MODES = ("idle", "words", "cold", "suggest", "writes", "concurrent")
MODE_TITLES = {
    "idle": "idle, one client",
    "words": "idle, words only (meaning off), one client",
    "cold": "cold (caches off), one client",
    "writes": "under writes, one client",
    "concurrent": "under writes, 4 clients",
    "suggest": "suggest (a whole message), one client",
}
MODE_COLUMNS = {
    "idle": "idle",
    "words": "words only",
    "cold": "cold",
    "writes": "writes",
    "concurrent": "writes, 4 clients",
    "suggest": "suggest",
}
# p95 targets per mode and corpus size: a size is held to the target of the smallest listed size >= it.
TARGETS_MS: dict[str, dict[int, float]] = {
    "idle": {10_000: 100.0, 50_000: 250.0},
    "words": {},
    "cold": {},
    "writes": {10_000: 100.0, 50_000: 250.0},
    "concurrent": {10_000: 200.0},
    "suggest": {10_000: 200.0},
}
# The suggest mode's messages: an e-mail per sentence query, and some long call transcripts.
SUGGEST_CLASSES = ("email", "transcript")
TRANSCRIPT_CHARS, TRANSCRIPT_PROBLEMS, TRANSCRIPT_SHARE = 15_000, 3, 5
CLIENTS = 4
AUTHOR_USER = "bench-author"  # saves articles in the writes modes (the agent votes)
SAVE_EVERY_S = 1.0  # an author saves an article this often while the writes modes measure
VOTES_PER_S = 2.0  # and agents vote (helpful or not) at this rate
EDITED_ARTICLES = 20  # the author edits these, picked with a fixed seed


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Sample:
    """One measured query: its text and what kb took and returned."""

    query: str
    kb_ms: float
    took_ms: float
    kb_hits: int
    error: str = ""
    meaning_ms: float = 0.0  # of took_ms, what meaning cost (the server's Server-Timing)


@dataclass
class Fts5Sample:
    query: str
    ms: float
    hits: int


@dataclass
class Options:
    """How each mode is run (from the command line)."""

    modes: tuple[str, ...] = MODES
    clients: int = CLIENTS
    save_every: float = SAVE_EVERY_S
    votes_per_s: float = VOTES_PER_S
    workers: int = 1  # `kb serve --workers`: 1 is one process (threads only), as before
    instances: Path | None = None  # keep each size's built instance here and reuse it (--instances)


def progress(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def interleaved(queries: QuerySet) -> list[Query]:
    """Classes taken in turn (prefix, short, sentence, typo, code, prefix, ...).

    Round-robin rather than class after class, so a slow drift of the machine (a background
    merge, the page cache warming) spreads over every class instead of landing on one.
    """
    rounds = itertools.zip_longest(*queries.measured.values())
    return [query for round_ in rounds for query in round_ if query is not None]


def send(kb: KbInstance, query: Query) -> Sample:
    """One query as a helpdesk tool sends it (a whole message to suggest, in the suggest mode's
    classes); a failure is recorded, not raised."""
    try:
        if query.kind in SUGGEST_CLASSES:
            response = kb.suggest(query.text)
        else:
            response = kb.search(query.text, typing=query.typing)
        return Sample(query.text, response.wall_ms, response.took_ms, response.hits, meaning_ms=response.meaning_ms)
    except (urllib.error.URLError, OSError, ValueError) as exc:  # counted and shown, not fatal
        return Sample(query.text, 0.0, 0.0, 0, error=f"{type(exc).__name__}: {exc}")


def by_class(sent: Sequence[tuple[Query, Sample]]) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {}
    for query, sample in sent:
        samples.setdefault(query.kind, []).append(sample)
    return samples


def measure_one_client(kb: KbInstance, queries: QuerySet) -> dict[str, list[Sample]]:
    """Send every measured query once, one after the other."""
    return by_class([(query, send(kb, query)) for query in interleaved(queries)])


def measure_clients(kb: KbInstance, queries: QuerySet, clients: int) -> dict[str, list[Sample]]:
    """`clients` threads, each sending its share of the queries back to back, all starting together."""
    order = interleaved(queries)
    shares = [order[n::clients] for n in range(clients)]
    sent: list[list[tuple[Query, Sample]]] = [[] for _ in shares]
    start = threading.Barrier(clients)

    def client(n: int) -> None:
        start.wait()
        sent[n].extend((query, send(kb, query)) for query in shares[n])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return by_class([pair for share in sent for pair in share])


def measure_mode(
    kb: KbInstance, queries: QuerySet, mode: str, slugs: Sequence[str], options: Options
) -> dict[str, Any]:
    """Start a fresh server for `mode`, warm it up, measure, stop it: no mode inherits another's caches."""
    saved_env = dict(kb.env)
    if mode == "cold":  # no term-score cache: every query word is read and scored from the postings
        kb.env["KB_SEARCH_TERM_CACHE_MB"] = "0"
    if mode == "words":  # what meaning costs: idle minus this
        kb.env["KB_SEARCH_MEANING"] = "false"
    kb.start(*(("--workers", str(options.workers), "--threads", "4") if options.workers > 1 else ()))
    try:
        for query in queries.warmup:
            send(kb, query)
        if mode not in ("writes", "concurrent"):
            return {"samples": measure_one_client(kb, queries), "clients": 1, "writes": None}
        author, agent = kb.tokens[AUTHOR_USER], kb.token
        with SteadyWrites(kb.base_url, author, agent, slugs, options.save_every, options.votes_per_s) as writes:
            clients = options.clients if mode == "concurrent" else 1
            samples = measure_clients(kb, queries, clients) if clients > 1 else measure_one_client(kb, queries)
        return {"samples": samples, "clients": clients, "writes": writes.summary()}
    finally:
        kb.stop()
        kb.env = saved_env


def messages(queries: QuerySet) -> QuerySet:
    """The suggest mode's messages, made from the sentence queries: each wrapped in a chatty
    e-mail, and every TRANSCRIPT_SHARE-th group of them said in passing during a long call."""
    rng = random.Random(f"{SEED}:messages")
    sentences = [q.text for q in queries.measured["sentence"]]
    emails = [Query("email", chatty_email(text, rng)[0]) for text in sentences]
    calls = [
        Query("transcript", call_transcript(sentences[i : i + TRANSCRIPT_PROBLEMS], rng, TRANSCRIPT_CHARS))
        for i in range(0, max(1, len(sentences) // TRANSCRIPT_SHARE) * TRANSCRIPT_PROBLEMS, TRANSCRIPT_PROBLEMS)
    ]
    warmup = [Query("email", chatty_email(q.text, rng)[0]) for q in queries.warmup if q.kind == "sentence"]
    return QuerySet(warmup, {"email": emails, "transcript": calls})


def measure_fts5(fts: Fts5Reference, queries: QuerySet) -> dict[str, list[Fts5Sample]]:
    """Run the same queries on FTS5, in the same order."""
    for query in queries.warmup:
        fts.search(query.text, typing=query.typing)
    samples: dict[str, list[Fts5Sample]] = {kind: [] for kind in CLASSES}
    for query in interleaved(queries):
        response = fts.search(query.text, typing=query.typing)
        samples[query.kind].append(Fts5Sample(query.text, response.wall_ms, response.hits))
    return samples


def copy_synonyms(source: Path, folder: Path) -> None:
    """Ship kb's own synonym groups with the corpus, as a real installation would have them.

    Synonyms widen queries (a matched group adds its other phrasings), so leaving them out
    would measure a cheaper kb than the one agents use. `kb import` reads the file from the folder.
    """
    if (source / SYNONYMS_FILE).is_file():
        shutil.copyfile(source / SYNONYMS_FILE, folder / SYNONYMS_FILE)


def build_kb(kb: KbInstance, folder: Path, size: int) -> dict[str, float]:
    """Time `kb import` (files to searchable) and `kb reindex` (index build alone)."""
    progress(f"[{size:,}] kb import")
    import_s = kb.timed("import", str(folder))
    progress(f"[{size:,}] kb import took {import_s:.1f} s; kb reindex")
    reindex_s = kb.timed("reindex")
    progress(f"[{size:,}] kb reindex took {reindex_s:.1f} s")
    return {
        "import_s": import_s,
        "import_per_s": size / import_s,
        "reindex_s": reindex_s,
        "reindex_per_s": size / reindex_s,
    }


def bench_size(generator: Generator, size: int, per_class: int, code: Path, options: Options) -> dict[str, Any]:
    """Everything for one corpus size, in a temporary folder removed afterwards."""
    progress(f"[{size:,}] generating articles and queries")
    articles = list(generator.articles(size))
    queries = build_queries(articles, per_class)
    rng = random.Random(f"{SEED}:edited")
    slugs = [a.slug for a in rng.sample(articles, min(EDITED_ARTICLES, len(articles)))]
    with tempfile.TemporaryDirectory(prefix=f"kb-bench-{size}-") as tmp:
        root = Path(tmp)
        kb = KbInstance(options.instances / str(size) if options.instances else root / "kb", source=code)
        builds = reused_build(kb, size, code)
        if builds is None:
            write_corpus(articles, root / "articles")
            copy_synonyms(code, root / "articles")
            builds = build_kb(kb, root / "articles", size)
            kb.create_agent()
            kb.create_user(AUTHOR_USER, "author")
            if options.instances:
                remember_build(kb, size, code, builds)
        modes = {}
        for mode in options.modes:
            sent = messages(queries) if mode == "suggest" else queries
            progress(
                f"[{size:,}] {MODE_TITLES[mode]}: {len(sent.warmup)} warm-up + "
                f"{sum(map(len, sent.measured.values()))} measured queries"
            )
            measured = working_copy(kb, root / f"mode-{mode}", code)
            modes[mode] = measure_mode(measured, sent, mode, slugs, options)
            shutil.rmtree(measured.root)
        fts5, fts5_build = fts5_reference(root / "fts5.db", articles, queries, size, kb_query_rules(code))
        builds.update(fts5_build)
    return summarise(size, builds, modes, fts5)


BUILT_FILE = "built.json"


# The kb sources that decide what an import and a reindex write: the tables, the article files'
# reading, the rendering and the index's documents. A change elsewhere (ranking, views) leaves a
# kept instance valid, so it can be measured without an hour's rebuild at 50k.
BUILD_SOURCES = (
    "kb/models/*.py",
    "kb/migrations/versions/*.py",
    "kb/articlefiles.py",
    "kb/store.py",
    "kb/render.py",
    "kb/search/schema.py",
    "kb/search/indexer.py",
    "kb/search/pairs.py",
    "kb/search/segment_builders.py",
    "kb/search/semantic.py",
)


def build_key(size: int, code: Path) -> dict[str, Any]:
    """What an instance kept by --instances was built from: reused only if all of it is the same."""
    corpus = hashlib.sha256((REPO / "benchmarks" / "corpus.py").read_bytes()).hexdigest()[:16]
    return {
        "articles": size,
        "kb_build_source": source_digest(code, BUILD_SOURCES),
        "corpus_source": corpus,
        "seed": SEED,
    }


def working_copy(kept: KbInstance, root: Path, code: Path) -> KbInstance:
    """A copy of the built instance to measure one mode on, so that every mode of every run starts
    from the index and database as built. Otherwise the saves and votes of "under writes" (new
    segments, deleted documents, revisions) would carry over into the next mode and run, and so
    would the search log: the first mode to send a query paid for recording a new knowledge gap
    for it, every later mode only found the gap, which made "words only" look 15-30 ms faster
    at p95 than "idle" for a reason that was not the meaning ranker."""
    shutil.copytree(kept.root, root, ignore=shutil.ignore_patterns("serve.log"))
    copy = KbInstance(root, source=code)
    copy.token, copy.tokens = kept.token, dict(kept.tokens)
    return copy


def reused_build(kb: KbInstance, size: int, code: Path) -> dict[str, float] | None:
    """The build figures of an instance kept by an earlier run of the same code and corpus (its
    users get fresh tokens), or None when it must be built."""
    path = kb.root / BUILT_FILE
    if not path.is_file():
        return None
    kept = json.loads(path.read_text(encoding="utf-8"))
    if kept.get("key") != build_key(size, code):
        progress(f"[{size:,}] the kept instance in {kb.root} was built from other code: building again")
        shutil.rmtree(kb.root)
        return None
    progress(f"[{size:,}] reusing the instance kept in {kb.root} (built {kept['built']})")
    kb.token = kb.new_token(AGENT_USER)
    kb.new_token(AUTHOR_USER)
    return kept["build"]


def remember_build(kb: KbInstance, size: int, code: Path, builds: dict[str, float]) -> None:
    record = {"key": build_key(size, code), "build": builds, "built": datetime.now(timezone.utc).isoformat()}
    (kb.root / BUILT_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")


def fts5_reference(
    path: Path, articles: Sequence[Article], queries: QuerySet, size: int, rules: QueryRules
) -> tuple[dict[str, list[Fts5Sample]], dict[str, float]]:
    """Build the FTS5 table (kb's server is stopped by then: the two never compete for CPU)."""
    progress(f"[{size:,}] FTS5 reference")
    fts = Fts5Reference(path, rules)
    try:
        seconds = fts.load(articles)
        samples = measure_fts5(fts, queries)
    finally:
        fts.close()
    return samples, {"fts5_build_s": seconds, "fts5_build_per_s": len(articles) / seconds}


# --- figures ------------------------------------------------------------------------------------


def target_for(size: int, mode: str = "idle") -> float | None:
    fitting = [limit for bound, limit in sorted(TARGETS_MS[mode].items()) if size <= bound]
    return fitting[0] if fitting else None


def summarise(
    size: int, builds: dict[str, float], modes: dict[str, dict[str, Any]], fts5: dict[str, list[Fts5Sample]]
) -> dict[str, Any]:
    fts5_figures = {
        kind: {
            "times": distribution([s.ms for s in rows]),
            "zero_results": sum(1 for s in rows if s.hits == 0),
            "samples": [asdict(s) for s in rows],
        }
        for kind, rows in fts5.items()
    }
    return {
        "articles": size,
        "build": {k: round(v, 3) for k, v in builds.items()},
        "modes": {mode: summarise_mode(size, mode, run, fts5_figures) for mode, run in modes.items()},
        "fts5": fts5_figures,
    }


def summarise_mode(size: int, mode: str, run: dict[str, Any], fts5: dict[str, Any]) -> dict[str, Any]:
    target = target_for(size, mode)
    classes = {}
    for kind, rows in run["samples"].items():
        ok = [s for s in rows if not s.error]
        kb = distribution([s.kb_ms for s in ok])
        fts5_p95 = fts5[kind]["times"]["p95"] if kind in fts5 else None  # suggest's messages: no FTS5 twin
        classes[kind] = {
            "kb": kb,
            "kb_took_ms": distribution([s.took_ms for s in ok]),
            "kb_meaning_ms": distribution([s.meaning_ms for s in ok]),
            # The same queries' times less their meaning work: what p95 would be without it.
            "kb_less_meaning": distribution([s.kb_ms - s.meaning_ms for s in ok]),
            "ratio_p95": round(kb["p95"] / fts5_p95, 1) if fts5_p95 else None,
            "kb_zero_results": sum(1 for s in ok if s.kb_hits == 0),
            "errors": len(rows) - len(ok),
            "target_ms": target,
            "pass": None if target is None else bool(ok) and len(ok) == len(rows) and kb["p95"] <= target,
            "samples": [asdict(s) for s in rows],
        }
    every = [s for rows in run["samples"].values() for s in rows]
    return {
        "title": MODE_TITLES[mode],
        "clients": run["clients"],
        "writes": run["writes"],
        "all": {
            "kb": distribution([s.kb_ms for s in every if not s.error]),
            "kb_meaning_ms": distribution([s.meaning_ms for s in every if not s.error]),
            "kb_less_meaning": distribution([s.kb_ms - s.meaning_ms for s in every if not s.error]),
            "errors": sum(1 for s in every if s.error),
        },
        "classes": classes,
    }


# --- report -------------------------------------------------------------------------------------


def print_table(size: int, result: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Markdown tables per size, pasteable into an issue or a pull request as they are."""
    build = result["build"]
    print(f"\n### {size:,} articles\n")
    print(
        f"kb import {build['import_per_s']:.0f} articles/s ({build['import_s']:.1f} s, end to end) · "
        f"kb reindex {build['reindex_per_s']:.0f} articles/s ({build['reindex_s']:.1f} s) · "
        f"FTS5 build {build['fts5_build_per_s']:.0f} articles/s\n"
    )
    print_side_by_side(result)
    for mode, figures in result["modes"].items():
        print_mode(size, mode, figures, previous)
    print_fts5(result)
    print()
    print("\n".join(verdicts(size, result)))


def _search_modes(result: dict[str, Any]) -> dict[str, Any]:
    """The modes that sent searches (every one but suggest), which FTS5 has a twin of."""
    return {mode: figures for mode, figures in result["modes"].items() if mode != "suggest"}


def _markdown(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def print_side_by_side(result: dict[str, Any]) -> None:
    """kb's p95 of every class in every search mode measured, beside FTS5's."""
    modes = _search_modes(result)
    if not modes:
        return
    header = ["class", *(f"kb p95 {MODE_COLUMNS[m]}" for m in modes), "FTS5 p95"]
    if "idle" in modes:
        header.append("idle / FTS5")
    rows = []
    for kind in CLASSES:
        row = [kind, *(f"{modes[m]['classes'][kind]['kb']['p95']:.1f}" for m in modes)]
        row.append(f"{result['fts5'][kind]['times']['p95']:.2f}")
        if "idle" in modes:
            row.append(_ratio(modes["idle"]["classes"][kind]["ratio_p95"]))
        rows.append(row)
    rows.append(
        ["all", *(f"{modes[m]['all']['kb']['p95']:.1f}" for m in modes), "", *([""] if "idle" in modes else [])]
    )
    _markdown(header, rows)
    print("\nTimes in ms: kb's client-side wall time over HTTP, snippets included; FTS5 in process.")


def print_mode(size: int, mode: str, figures: dict[str, Any], previous: dict[str, Any] | None) -> None:
    print(f"\n#### {MODE_TITLES[mode]}\n")
    header = ["class", "kb p50", "kb p95", "kb p99", "server p95", "meaning p95", "meaning max", "meaning's p95 share"]
    header += ["no result", "target", "result"]
    if previous is not None:
        header += ["prev kb p95", "change"]
    rows = []
    for kind, row in figures["classes"].items():
        cells = _row(kind, row)
        if previous is not None:
            cells += _comparison(row["kb"]["p95"], previous_p95(previous, size, mode, kind))
        rows.append(cells)
    every, meaning = figures["all"]["kb"], figures["all"]["kb_meaning_ms"]
    rows.append(["all", f"{every['p50']:.1f}", f"{every['p95']:.1f}", f"{every['p99']:.1f}", ""])
    rows[-1] += [f"{meaning['p95']:.1f}", f"{meaning['max']:.1f}", _meaning_share(figures["all"]), "", "", ""]
    if previous is not None:
        rows[-1] += ["", ""]
    _markdown(header, rows)
    print(
        "\nmeaning: the server's own time for it in each query (embedding the query, its cosine with every"
        " article, the passages' cosines; not fusing the two rankings, which the words mode's difference"
        " includes). Its p95 share: kb's p95 less the p95 of the same queries' times without that work,"
        " paired query by query, so free of the run-to-run noise of comparing two runs."
        f" Over all classes the largest was {meaning['max']:.1f} ms: no query's time grew by more."
    )
    writes = figures["writes"]
    if writes:
        print(
            f"\nWhile measuring ({figures['clients']} client{'s' if figures['clients'] > 1 else ''}): "
            f"{writes['saves']} saves (p95 {writes['save_ms']['p95']:.1f} ms, one every "
            f"{writes['save_every_s']:g} s), {writes['conflicts']} conflicts, {writes['votes']} votes "
            f"(p95 {writes['vote_ms']['p95']:.1f} ms, {writes['votes_per_s']:g}/s), {writes['errors']} errors."
        )


def print_fts5(result: dict[str, Any]) -> None:
    print("\n#### FTS5 reference (same queries, kb's stop words dropped, the typed word as a prefix)\n")
    modes = _search_modes(result)
    idle = modes.get("idle") or next(iter(modes.values()), None)
    rows = []
    for kind, figures in result["fts5"].items():
        times = figures["times"]
        rows.append(
            [
                kind,
                f"{times['p50']:.2f}",
                f"{times['p95']:.2f}",
                f"{times['p99']:.2f}",
                f"{idle['classes'][kind]['kb_zero_results'] if idle else '-'}/{figures['zero_results']}",
            ]
        )
    _markdown(["class", "FTS5 p50", "FTS5 p95", "FTS5 p99", "no result kb/FTS5"], rows)


def verdicts(size: int, result: dict[str, Any]) -> list[str]:
    """One PASS/FAIL line per mode that has a target at this size."""
    lines = []
    for mode, figures in result["modes"].items():
        target = target_for(size, mode)
        if target is None:
            continue
        missed = [
            f"{kind} {row['kb']['p95']:.1f}" + (f" ({row['errors']} errors)" if row["errors"] else "")
            for kind, row in figures["classes"].items()
            if not row["pass"]
        ]
        verdict = "FAIL" if missed else "PASS"
        detail = f": {', '.join(missed)}" if missed else ""
        lines.append(f"{verdict}  {size:,} articles, {MODE_TITLES[mode]}: every class p95 ≤ {target:.0f} ms{detail}")
    return lines


def _row(kind: str, figures: dict[str, Any]) -> list[str]:
    kb = figures["kb"]
    target = figures["target_ms"]
    verdict = "-" if figures["pass"] is None else "pass" if figures["pass"] else "FAIL"
    if figures["errors"]:
        verdict += f" ({figures['errors']} errors)"
    return [
        kind,
        f"{kb['p50']:.1f}",
        f"{kb['p95']:.1f}",
        f"{kb['p99']:.1f}",
        f"{figures['kb_took_ms']['p95']:.1f}",
        f"{figures['kb_meaning_ms']['p95']:.1f}",
        f"{figures['kb_meaning_ms']['max']:.1f}",
        _meaning_share(figures),
        str(figures["kb_zero_results"]),
        "-" if target is None else f"≤{target:.0f}",
        verdict,
    ]


def _meaning_share(figures: dict[str, Any]) -> str:
    """How much of kb's p95 the meaning work is (see print_mode)."""
    return f"{figures['kb']['p95'] - figures['kb_less_meaning']['p95']:.1f}"


def _ratio(ratio: float | None) -> str:
    """kb's p95 over FTS5's: one decimal below 10x, where kb may well be the faster one."""
    if ratio is None:
        return "-"
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def previous_p95(previous: dict[str, Any], size: int, mode: str, kind: str) -> float | None:
    """The previous run's kb p95 for this size, mode and class.

    A run from before the modes holds one set of figures: the idle ones, or the cold ones when
    it was made with `--cold`.
    """
    before = (previous.get("sizes") or {}).get(str(size)) or {}
    if "modes" in before:
        figures = (before["modes"].get(mode) or {}).get("classes", {}).get(kind)
    else:
        figures = before.get("classes", {}).get(kind) if mode == ("cold" if previous.get("cold") else "idle") else None
    return ((figures or {}).get("kb") or {}).get("p95")


def _comparison(now: float, old: float | None) -> list[str]:
    """The previous run's kb p95 and the change since."""
    if not old:
        return ["-", "-"]
    return [f"{old:.1f}", f"{(now - old) / old * 100:+.0f}%"]


# --- run ----------------------------------------------------------------------------------------


def snapshot(folder: Path) -> Path:
    """Freeze kb's code and synonyms for the whole run (see harness.snapshot_kb)."""
    code = snapshot_kb(REPO, folder)
    copy_synonyms(REPO / "articles", code)
    return code


def machine(code: Path) -> dict[str, Any]:
    """Enough about the machine and the code measured to tell two runs apart."""
    import sqlite3

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no")),
        "kb_source_sha256": source_digest(code),
    }


def source_digest(code: Path, patterns: Sequence[str] = ("kb/**/*.py",)) -> str:
    """A digest of the measured kb sources: tells runs apart even when changes are not committed."""
    digest = hashlib.sha256()
    for path in sorted({path for pattern in patterns for path in code.glob(pattern)}):
        digest.update(path.relative_to(code).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        type=_sizes,
        help="corpus sizes, comma-separated (default: %(default)s)",
    )
    parser.add_argument("--per-class", type=int, default=200, help="measured queries per class (default: %(default)s)")
    parser.add_argument(
        "--out", type=Path, help="where to write the raw figures (default: benchmarks/runs/latency-<timestamp>.json)"
    )
    parser.add_argument("--compare", type=Path, help="a previous run's JSON: show its kb p95 beside the new one")
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        type=_modes,
        help="which modes to measure, comma-separated, among %(default)s (default: all)",
    )
    parser.add_argument(
        "--cold", action="store_true", help="only the cold mode (the same as --modes cold; kept for old scripts)"
    )
    parser.add_argument(
        "--clients", type=int, default=CLIENTS, help="clients at once in the concurrent mode (default: %(default)s)"
    )
    parser.add_argument(
        "--save-every", type=float, default=SAVE_EVERY_S, help="seconds between saves in the writes modes"
    )
    parser.add_argument("--votes-per-s", type=float, default=VOTES_PER_S, help="votes per second in the writes modes")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="kb serve --workers for every mode (default: %(default)s; a support floor runs one per core)",
    )
    parser.add_argument(
        "--instances",
        type=Path,
        help="keep each size's built kb instance in this folder and reuse it on later runs while the "
        "code that builds it is the same (BUILD_SOURCES; skips the import and reindex, which take "
        "most of an hour at 50k); the build figures are then the kept ones",
    )
    return parser.parse_args(argv)


def _modes(text: str) -> tuple[str, ...]:
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = chosen - set(MODES)
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(f"modes are among {', '.join(MODES)}; not {', '.join(sorted(unknown))}")
    return tuple(mode for mode in MODES if mode in chosen)  # always in the order of MODES


def _sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes are positive numbers, e.g. 1000,10000")
    return sizes


def save(run: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    previous = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare else None
    options = Options(
        ("cold",) if args.cold else args.modes,
        args.clients,
        args.save_every,
        args.votes_per_s,
        args.workers,
        args.instances,
    )
    started = datetime.now(timezone.utc)
    out = args.out or RUNS_DIR / f"latency-{started:%Y%m%d-%H%M%S}.json"
    with tempfile.TemporaryDirectory(prefix="kb-bench-code-") as tmp:
        code = snapshot(Path(tmp))
        run: dict[str, Any] = {
            "benchmark": "latency",
            "started": started.isoformat(timespec="seconds"),
            "per_class": args.per_class,
            "machine": machine(code),
            "options": {**asdict(options), "instances": str(options.instances) if options.instances else None},
            "fts5_rules": fts5_rules(code),
            "sizes": {},
        }
        for size in args.sizes:
            measure_size(run, size, args.per_class, code, out, previous, options)
    progress(f"raw figures in {out}")
    return 0


def fts5_rules(code: Path) -> dict[str, Any]:
    """What the FTS5 reference was given of kb's query handling, for the JSON."""
    rules = kb_query_rules(code)
    return {
        "stop_words": sorted(rules.stop_words),
        "sentence_stop_words": sorted(rules.sentence_stop_words),
        "sentence_length": rules.sentence_length,
        "min_prefix": rules.min_prefix,
        "source": rules.source,
        "typing": {kind: kind in TYPED_CLASSES for kind in CLASSES},
    }


def measure_size(
    run: dict[str, Any],
    size: int,
    per_class: int,
    code: Path,
    out: Path,
    previous: dict[str, Any] | None,
    options: Options,
) -> None:
    """Benchmark one size, save everything so far, print its tables."""
    clock = time.monotonic()
    run["sizes"][str(size)] = bench_size(Generator(), size, per_class, code, options)
    run["sizes"][str(size)]["wall_s"] = round(time.monotonic() - clock, 1)
    save(run, out)  # after every size, so a run stopped part-way still leaves its figures
    print_table(size, run["sizes"][str(size)], previous)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
