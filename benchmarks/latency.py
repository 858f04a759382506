"""Search latency of kb at 1k, 10k and 50k articles, beside an SQLite FTS5 reference.

Why: agents search while the customer talks, and search-as-you-type fires on every key, so a
slow query is felt at once. This measures what a helpdesk tool would see (HTTP to a real `kb
serve`, token auth, JSON) for five kinds of query agents type, at corpus sizes kb must handle,
and how far each is from a plain FTS5 baseline on the same machine. It also times `kb import`
and `kb reindex`, since those bound how fast a large knowledge base can be brought in or repaired.

    .venv/bin/python benchmarks/latency.py [--sizes 1000,10000,50000] [--per-class 200]
                                           [--out PATH] [--compare PREVIOUS.json]

Progress goes to stderr, the tables to stdout, the raw figures to a JSON file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Article, Generator, write_corpus  # noqa: E402
from harness import Fts5Reference, KbInstance, snapshot_kb  # noqa: E402
from metrics import distribution  # noqa: E402
from queries import CLASSES, Query, QuerySet, build_queries  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RUNS_DIR = REPO / "benchmarks" / "runs"
DEFAULT_SIZES = (1_000, 10_000, 50_000)
SYNONYMS_FILE = "synonyms.yaml"
# p95 targets by corpus size: a size is held to the target of the smallest listed size >= it.
TARGETS_MS = {10_000: 100.0, 50_000: 250.0}


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Sample:
    """One measured query: its text and what each system took and returned."""

    query: str
    kb_ms: float
    took_ms: float
    kb_hits: int
    fts5_ms: float = 0.0
    fts5_hits: int = 0
    error: str = ""


def progress(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def interleaved(queries: QuerySet) -> list[Query]:
    """Classes taken in turn (prefix, short, sentence, typo, code, prefix, ...).

    Round-robin rather than class after class, so a slow drift of the machine (a background
    merge, the page cache warming) spreads over every class instead of landing on one.
    """
    measured = queries.measured
    return [measured[kind][i] for i in range(len(measured[CLASSES[0]])) for kind in CLASSES]


def measure_kb(kb: KbInstance, queries: QuerySet) -> dict[str, list[Sample]]:
    """Warm up, then send every measured query once, one after the other."""
    for query in queries.warmup:
        kb.search(query.text, typing=query.typing)
    samples: dict[str, list[Sample]] = {kind: [] for kind in CLASSES}
    for query in interleaved(queries):
        try:
            response = kb.search(query.text, typing=query.typing)
            samples[query.kind].append(Sample(query.text, response.wall_ms, response.took_ms, response.hits))
        except (urllib.error.URLError, OSError, ValueError) as exc:  # counted and shown, not fatal
            samples[query.kind].append(Sample(query.text, 0.0, 0.0, 0, error=f"{type(exc).__name__}: {exc}"))
    return samples


def measure_fts5(fts: Fts5Reference, queries: QuerySet, samples: dict[str, list[Sample]]) -> None:
    """Run the same queries on FTS5, in the same order, and record them beside kb's figures."""
    for query in queries.warmup:
        fts.search(query.text, typing=query.typing)
    by_text = {(kind, s.query): s for kind, rows in samples.items() for s in rows}
    for query in interleaved(queries):
        response = fts.search(query.text, typing=query.typing)
        sample = by_text[(query.kind, query.text)]
        sample.fts5_ms, sample.fts5_hits = response.wall_ms, response.hits


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


def bench_size(generator: Generator, size: int, per_class: int, code: Path, cold: bool = False) -> dict[str, Any]:
    """Everything for one corpus size, in a temporary folder removed afterwards."""
    progress(f"[{size:,}] generating articles and queries")
    articles = list(generator.articles(size))
    queries = build_queries(articles, per_class)
    with tempfile.TemporaryDirectory(prefix=f"kb-bench-{size}-") as tmp:
        root = Path(tmp)
        write_corpus(articles, root / "articles")
        copy_synonyms(code, root / "articles")
        kb = KbInstance(root / "kb", source=code)
        if cold:  # no term-score cache: every query word is read and scored from the postings
            kb.env["KB_SEARCH_TERM_CACHE_MB"] = "0"
        builds = build_kb(kb, root / "articles", size)
        samples = serve_and_measure(kb, queries, size)
        builds.update(fts5_reference(root / "fts5.db", articles, queries, samples, size))
    return summarise(size, builds, samples)


def serve_and_measure(kb: KbInstance, queries: QuerySet, size: int) -> dict[str, list[Sample]]:
    kb.create_agent()
    kb.start()
    progress(
        f"[{size:,}] kb serving at {kb.base_url}; {len(queries.warmup)} warm-up + "
        f"{sum(map(len, queries.measured.values()))} measured queries"
    )
    try:
        return measure_kb(kb, queries)
    finally:
        kb.stop()


def fts5_reference(
    path: Path, articles: Sequence[Article], queries: QuerySet, samples: dict[str, list[Sample]], size: int
) -> dict[str, float]:
    """Build the FTS5 table (kb's server is stopped by then: the two never compete for CPU)."""
    progress(f"[{size:,}] FTS5 reference")
    fts = Fts5Reference(path)
    try:
        seconds = fts.load(articles)
        measure_fts5(fts, queries, samples)
    finally:
        fts.close()
    return {"fts5_build_s": seconds, "fts5_build_per_s": len(articles) / seconds}


# --- figures ------------------------------------------------------------------------------------


def target_for(size: int) -> float | None:
    fitting = [limit for bound, limit in sorted(TARGETS_MS.items()) if size <= bound]
    return fitting[0] if fitting else None


def summarise(size: int, builds: dict[str, float], samples: dict[str, list[Sample]]) -> dict[str, Any]:
    target = target_for(size)
    classes = {}
    for kind, rows in samples.items():
        ok = [s for s in rows if not s.error]
        kb = distribution([s.kb_ms for s in ok])
        fts5 = distribution([s.fts5_ms for s in ok])
        classes[kind] = {
            "kb": kb,
            "kb_took_ms": distribution([s.took_ms for s in ok]),
            "fts5": fts5,
            "ratio_p95": round(kb["p95"] / fts5["p95"], 1) if fts5["p95"] else None,
            "kb_zero_results": sum(1 for s in ok if s.kb_hits == 0),
            "fts5_zero_results": sum(1 for s in ok if s.fts5_hits == 0),
            "errors": len(rows) - len(ok),
            "target_ms": target,
            "pass": None if target is None else bool(ok) and len(ok) == len(rows) and kb["p95"] <= target,
            "samples": [asdict(s) for s in rows],
        }
    return {"articles": size, "build": {k: round(v, 3) for k, v in builds.items()}, "classes": classes}


# --- report -------------------------------------------------------------------------------------


def print_table(size: int, result: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """A Markdown table per size: pasteable into an issue or a pull request as it is."""
    build = result["build"]
    print(f"\n### {size:,} articles\n")
    print(
        f"kb import {build['import_per_s']:.0f} articles/s ({build['import_s']:.1f} s, end to end) · "
        f"kb reindex {build['reindex_per_s']:.0f} articles/s ({build['reindex_s']:.1f} s) · "
        f"FTS5 build {build['fts5_build_per_s']:.0f} articles/s\n"
    )
    before = (previous or {}).get("sizes", {}).get(str(size))
    header = [
        "class",
        "kb p50",
        "kb p95",
        "kb p99",
        "server p95",
        "FTS5 p50",
        "FTS5 p95",
        "FTS5 p99",
        "ratio p95",
        "target",
        "result",
    ]
    if previous is not None:
        header += ["prev kb p95", "change"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for kind, figures in result["classes"].items():
        cells = _row(kind, figures)
        if previous is not None:
            cells += _comparison(figures["kb"]["p95"], before, kind)
        print("| " + " | ".join(cells) + " |")
    zero = ", ".join(f"{kind} {f['kb_zero_results']}/{f['fts5_zero_results']}" for kind, f in result["classes"].items())
    print(
        "\nTimes in ms: client-side wall time over HTTP for kb (server p95: kb's own `took_ms`), in process for FTS5."
    )
    print(f"Queries with no result (kb/FTS5): {zero}.")


def _row(kind: str, figures: dict[str, Any]) -> list[str]:
    kb, fts5 = figures["kb"], figures["fts5"]
    target = figures["target_ms"]
    verdict = "-" if figures["pass"] is None else "pass" if figures["pass"] else "FAIL"
    if figures["errors"]:
        verdict += f" ({figures['errors']} errors)"
    ratio = figures["ratio_p95"]
    return [
        kind,
        f"{kb['p50']:.1f}",
        f"{kb['p95']:.1f}",
        f"{kb['p99']:.1f}",
        f"{figures['kb_took_ms']['p95']:.1f}",
        f"{fts5['p50']:.2f}",
        f"{fts5['p95']:.2f}",
        f"{fts5['p99']:.2f}",
        _ratio(ratio),
        "-" if target is None else f"≤{target:.0f}",
        verdict,
    ]


def _ratio(ratio: float | None) -> str:
    """kb's p95 over FTS5's: one decimal below 10x, where kb may well be the faster one."""
    if ratio is None:
        return "-"
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def _comparison(now: float, before: dict[str, Any] | None, kind: str) -> list[str]:
    """The previous run's kb p95 for this size and class, and the change since."""
    old = ((before or {}).get("classes", {}).get(kind) or {}).get("kb", {}).get("p95")
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
    import os
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


def source_digest(code: Path) -> str:
    """A digest of the measured kb sources: tells runs apart even when changes are not committed."""
    digest = hashlib.sha256()
    for path in sorted((code / "kb").rglob("*.py")):
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
        "--cold", action="store_true", help="turn kb's term-score cache off (KB_SEARCH_TERM_CACHE_MB=0)"
    )
    return parser.parse_args(argv)


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
    started = datetime.now(timezone.utc)
    out = args.out or RUNS_DIR / f"latency-{started:%Y%m%d-%H%M%S}.json"
    with tempfile.TemporaryDirectory(prefix="kb-bench-code-") as tmp:
        code = snapshot(Path(tmp))
        run: dict[str, Any] = {
            "benchmark": "latency",
            "started": started.isoformat(timespec="seconds"),
            "per_class": args.per_class,
            "machine": machine(code),
            "cold": args.cold,
            "sizes": {},
        }
        for size in args.sizes:
            measure_size(run, size, args.per_class, code, out, previous, args.cold)
    progress(f"raw figures in {out}")
    return 0


def measure_size(
    run: dict[str, Any], size: int, per_class: int, code: Path, out: Path, previous: dict[str, Any] | None, cold: bool
) -> None:
    """Benchmark one size, save everything so far, print its table."""
    clock = time.monotonic()
    run["sizes"][str(size)] = bench_size(Generator(), size, per_class, code, cold)
    run["sizes"][str(size)]["wall_s"] = round(time.monotonic() - clock, 1)
    save(run, out)  # after every size, so a run stopped part-way still leaves its figures
    print_table(size, run["sizes"][str(size)], previous)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
