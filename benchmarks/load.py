"""Load benchmark: a support floor of agents and authors against the production command.

One command, from the repository root (builds a 10k-article instance the first time, about
two minutes, and keeps it in benchmarks/runs/load-instance/ for the next runs):

    .venv/bin/python benchmarks/load.py

By default 50 agents and 5 authors use `kb serve --workers 2 --threads 8` over loopback for 60 s
(see benchmarks/traffic.py for what each person does), then every acknowledged save is checked
to be searchable. `--stress` drops the think time and steps the number of people up to find the
highest throughput held with zero errors. `--reference REV` runs the same load against kb as it
was at git revision REV (its own instance, built by its own code), and prints both side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Generator, write_corpus  # noqa: E402
from harness import KbInstance, snapshot_kb  # noqa: E402
from latency import copy_synonyms, machine  # noqa: E402
from metrics import distribution  # noqa: E402
from queries import build_queries  # noqa: E402
from traffic import Recorder, agent, author, watch_visibility  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RUNS_DIR = REPO / "benchmarks" / "runs"
TARGETS = {"search": 300.0, "save": 1000.0}  # p95 ms on the 2-core development machine
STRESS_STEPS = (10, 25, 50, 100)
WATCHERS = 4  # threads checking that acknowledged saves become searchable
KINDS = ("search", "open article", "vote", "read for edit", "save", "save visible")


def progress(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --- the instance ---------------------------------------------------------------------------------


def prepare(folder: Path, code: Path, size: int, database: str | None) -> KbInstance:
    """A kb instance in `folder` running `code`, holding `size` generated articles (built once)."""
    kb = KbInstance(folder, source=code)
    if database:
        kb.env["KB_DATABASE_URL"] = database
    stamp = f"{size} articles in {database or 'the SQLite file'}\n"
    if not (folder / "built").exists() or (folder / "built").read_text() != stamp:
        shutil.rmtree(folder / "index", ignore_errors=True)  # an index of another database
        for leftover in folder.glob("kb.db*"):  # a SQLite instance of another size
            leftover.unlink()
        articles = list(Generator().articles(size))
        with tempfile.TemporaryDirectory(prefix="kb-load-corpus-") as tmp:
            write_corpus(articles, Path(tmp))
            copy_synonyms(REPO / "articles", Path(tmp))
            progress(f"building {folder.name}: kb import of {size:,} articles")
            started = time.monotonic()
            kb.run("import", tmp)
            progress(f"built in {time.monotonic() - started:.0f} s")
        for name, role in (("agent", "agent"), ("author", "author")):
            kb.run("user", "add", f"load-{name}", "--role", role, "--password", "load-password-1")
        (folder / "built").write_text(stamp)
    kb.tokens = {
        name: kb.run("token", "create", f"load-{name}").strip().splitlines()[-1] for name in ("agent", "author")
    }
    return kb


def serve(kb: KbInstance, workers: int, threads: int) -> None:
    """Start the production command: gunicorn workers when this kb has them, waitress otherwise."""
    help_text = kb.run("serve", "--help")
    args = ["--threads", str(threads)]
    if "--workers" in help_text:
        args += ["--workers", str(workers)]
    kb.start(*args)


# --- one load ---------------------------------------------------------------------------------------


def run_load(kb: KbInstance, *, agents: int, authors: int, agent_think: float, author_think: float, seconds: float):
    """Run the people for `seconds`; return the recorder once every save was checked."""
    queries = [q for kind in build_queries(list(Generator().articles(300)), 40).measured.values() for q in kind]
    slugs = _editable_slugs(kb, authors * 20)
    # The watchers stop only once every person has: a save acknowledged just after `stop` must
    # still be watched (with one event, a watcher could leave before the last save was recorded).
    rec, stop, people_done = Recorder(), threading.Event(), threading.Event()
    people = [
        threading.Thread(target=agent, args=(kb.base_url, kb.tokens["agent"], queries, agent_think, n, rec, stop))
        for n in range(agents)
    ] + [
        threading.Thread(
            target=author, args=(kb.base_url, kb.tokens["author"], slugs, author_think, 1000 + n, rec, stop)
        )
        for n in range(authors)
    ]
    watchers = [
        threading.Thread(
            target=watch_visibility,
            args=(kb.base_url, kb.tokens["agent"], rec, people_done),
            kwargs={"share": n, "watchers": WATCHERS},
        )
        for n in range(WATCHERS)
    ]
    for thread in (*people, *watchers):
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in people:
        thread.join(120)
    rec.elapsed = time.monotonic() - rec.started
    people_done.set()
    for thread in watchers:
        thread.join(900)
    return rec


def _editable_slugs(kb: KbInstance, count: int) -> list[str]:
    """Articles the authors edit: each author mostly its own, a few shared (conflicts happen)."""
    listed = json.loads(_get(kb, "/api/v1/articles?status=published", kb.tokens["author"]))["articles"]
    rng = random.Random(7)
    return [a["slug"] for a in rng.sample(listed, min(count, len(listed)))]


def _get(kb: KbInstance, path: str, token: str) -> str:
    import urllib.request

    request = urllib.request.Request(kb.base_url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read().decode()


def summarise(rec: Recorder) -> dict[str, Any]:
    seconds = getattr(rec, "elapsed", time.monotonic() - rec.started)
    kinds = {}
    for kind in KINDS:
        values = rec.timings.get(kind, [])
        kinds[kind] = {
            "count": len(values),
            "per_s": round(len(values) / seconds, 2),
            "errors": len(rec.errors.get(kind, [])),
            **distribution(values),
        }
    return {
        "seconds": round(seconds, 1),
        "kinds": kinds,
        "errors": sum(len(v) for v in rec.errors.values()),
        "error_samples": {k: v[:5] for k, v in rec.errors.items()},
        "conflicts": rec.conflicts,
        "saves_acknowledged": len(rec.saves),
        "saves_superseded": rec.superseded,
    }


def stress(kb: KbInstance, seconds: float) -> list[dict[str, Any]]:
    """No think time; more people each step. The highest throughput with zero errors is the answer."""
    steps = []
    for agents in STRESS_STEPS:
        authors = max(1, agents // 10)
        progress(f"stress: {agents} agents, {authors} authors, no think time, {seconds:.0f} s")
        summary = summarise(
            run_load(kb, agents=agents, authors=authors, agent_think=0, author_think=0, seconds=seconds)
        )
        summary["people"] = {"agents": agents, "authors": authors}
        steps.append(summary)
    return steps


# --- printing ---------------------------------------------------------------------------------------


def print_table(title: str, runs: dict[str, dict[str, Any]]) -> None:
    names = list(runs)
    print(f"\n{title}")
    header = ["kind"] + [f"{n} {c}" for n in names for c in ("n/s", "p50", "p95", "p99", "err")]
    if len(names) == 2:
        header.append("p95 ratio")
    rows = [header]
    for kind in KINDS:
        row = [kind]
        for name in names:
            k = runs[name]["kinds"][kind]
            row += [f"{k['per_s']:.1f}", _ms(k["p50"]), _ms(k["p95"]), _ms(k["p99"]), str(k["errors"])]
        if len(names) == 2:
            a, b = (runs[n]["kinds"][kind]["p95"] for n in names)
            row.append(f"{a / b:.2f}x" if a == a and b == b and b else "")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print(
            "  ".join(
                cell.rjust(width) if i else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )
    for name in names:
        run = runs[name]
        print(
            f"{name}: {run['errors']} errors, {run['conflicts']} save conflicts (409, nothing lost), "
            f"{run['saves_acknowledged']} saves acknowledged, "
            f"{run['kinds']['save visible']['count']} of them found by search afterwards, "
            f"{run.get('saves_superseded', 0)} replaced by a later save of the same article first"
        )


def _ms(value: float) -> str:
    return "-" if value != value else (f"{value:.0f}" if value >= 100 else f"{value:.1f}")


def verdict(run: dict[str, Any]) -> list[str]:
    """The issue's targets, checked on the kb run."""
    kinds = run["kinds"]
    checks = [
        ("zero errors", run["errors"] == 0),
        (f"search p95 <= {TARGETS['search']:.0f} ms", kinds["search"]["p95"] <= TARGETS["search"]),
        (f"save p95 <= {TARGETS['save']:.0f} ms", kinds["save"]["p95"] <= TARGETS["save"]),
        (
            "every acknowledged save searchable",
            kinds["save visible"]["count"] + run.get("saves_superseded", 0) == run["saves_acknowledged"]
            and not kinds["save visible"]["errors"],
        ),
    ]
    return [f"{'PASS' if ok else 'FAIL'}  {label}" for label, ok in checks]


# --- main -------------------------------------------------------------------------------------------


def measure(name: str, code: Path, args: argparse.Namespace, database: str | None) -> dict[str, Any]:
    folder = args.instance / name
    kb = prepare(folder, code, args.articles, database)
    serve(kb, args.workers, args.threads)
    progress(f"{name}: serving at {kb.base_url}")
    try:
        if args.stress:
            return {"stress": stress(kb, args.duration)}
        rec = run_load(
            kb,
            agents=args.agents,
            authors=args.authors,
            agent_think=args.agent_think,
            author_think=args.author_think,
            seconds=args.duration,
        )
        return summarise(rec)
    finally:
        kb.stop()


def reference_code(revision: str, folder: Path) -> Path:
    """kb's code and templates at git `revision`, for a run side by side with today's."""
    archive = subprocess.run(["git", "archive", revision, "kb", "templates"], cwd=REPO, capture_output=True, check=True)
    folder.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000, help="corpus size (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (per step with --stress)")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--authors", type=int, default=5)
    parser.add_argument("--agent-think", type=float, default=15.0, help="mean seconds between an agent's calls")
    parser.add_argument("--author-think", type=float, default=10.0, help="mean seconds between an author's saves")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument("--database", help="a PostgreSQL URL (default: the instance's SQLite file)")
    parser.add_argument("--reference-database", help="the reference run's own PostgreSQL URL (with --database)")
    parser.add_argument("--instance", type=Path, default=RUNS_DIR / "load-instance", help="where instances are kept")
    parser.add_argument("--stress", action="store_true", help="no think time, stepping the number of people up")
    parser.add_argument("--reference", help="git revision to run the same load against, side by side")
    parser.add_argument("--out", type=Path, help="raw figures (default: benchmarks/runs/load-<timestamp>.json)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.reference and bool(args.database) != bool(args.reference_database):
        sys.exit("--database and --reference: give the reference its own database with --reference-database")
    started = datetime.now(timezone.utc)
    out = args.out or RUNS_DIR / f"load-{started:%Y%m%d-%H%M%S}.json"
    with tempfile.TemporaryDirectory(prefix="kb-load-code-") as tmp:
        code = snapshot_kb(REPO, Path(tmp) / "now")
        report: dict[str, Any] = {"benchmark": "load", "started": started.isoformat(), "args": _plain(vars(args))}
        report["machine"] = machine(code)
        runs = {"kb": measure(f"now-{args.articles}", code, args, args.database)}
        if args.reference:
            old = reference_code(args.reference, Path(tmp) / "reference")
            name = f"ref-{args.reference[:10]}-{args.articles}"
            runs[args.reference[:10]] = measure(name, old, args, args.reference_database)
    report["runs"] = runs
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    _print_report(runs, args)
    progress(f"raw figures in {out}")
    return 0


def _print_report(runs: dict[str, Any], args: argparse.Namespace) -> None:
    if args.stress:
        for name, run in runs.items():
            print(f"\n{name}: stress steps (no think time)")
            held = [s for s in run["stress"] if s["errors"] == 0]
            for step in run["stress"]:
                total = sum(k["per_s"] for k in step["kinds"].values())
                print(
                    f"  {step['people']['agents']:>3} agents: {total:7.1f} requests/s, search p95 "
                    f"{_ms(step['kinds']['search']['p95'])} ms, save p95 {_ms(step['kinds']['save']['p95'])} ms, "
                    f"{step['errors']} errors"
                )
            best = max((sum(k["per_s"] for k in s["kinds"].values()) for s in held), default=0.0)
            print(f"  highest throughput held with zero errors: {best:.1f} requests/s")
        return
    people = f"{args.agents} agents + {args.authors} authors, {args.duration:.0f} s, {args.articles:,} articles"
    print_table(f"Load: {people} (times in ms)", runs)
    print("\n".join(verdict(runs["kb"])))


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


if __name__ == "__main__":
    sys.exit(main())
