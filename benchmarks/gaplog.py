"""The search log's flush: what writing one logged search costs, and how long it holds the write lock.

Why: every serving process writes its searches once a second, and each search in words kb has not
seen before is matched to a knowledge gap (kb.loop.gaps): its signature, the newest wordings that
share a stem, a typo-forgiving comparison with them. That work runs in the serving process beside
the searches, and on SQLite the writing half holds the database's one write lock while a save or a
vote waits. So this measures both, with a history of gap wordings already seen.

One command, from the repository root (a few minutes; the reference doubles it):

    .venv/bin/python benchmarks/gaplog.py --reference 30a3aaf

Options: `--wordings N` gap wordings seen before (default 5000), `--searches N` measured searches
in new words (default 800), `--reference REV` (the same run against kb at git revision REV, side
by side), `--out PATH` (default `benchmarks/runs/gaplog-<timestamp>.json`).

The searches are built from a fixed vocabulary of support words (seeded), so most share stems
with many earlier wordings, as a support floor's do; a third repeat an earlier wording with a typo.
Each run (kb, reference) is a child process on a snapshot of that code, with a new SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import snapshot_kb  # noqa: E402
from latency import machine  # noqa: E402
from load import reference_code  # noqa: E402
from metrics import distribution  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RUNS_DIR = REPO / "benchmarks" / "runs"
SEED = 20261202
FLUSH_EVERY = 160  # searches per measured flush: about what 4 busy clients send a process in a second
VOCABULARY = """printer scanner wifi router password reset email outlook vpn laptop battery screen
    keyboard mouse driver update install error crash slow freeze sync calendar invoice refund account
    login token cable dock monitor audio sound camera meeting license backup restore disk storage
    quota share folder permission access denied timeout proxy certificate browser cookie cache
    warehouse badge payroll expense shipment label tracking barcode tablet headset microphone""".split()


def wording(rng: random.Random) -> str:
    """A search in a customer's words: a few support words and one rarer word of its own."""
    words = rng.sample(VOCABULARY, rng.randint(2, 5))
    return " ".join(words + [f"{rng.choice(VOCABULARY)}{rng.randint(0, 9999)}"])


def with_typo(rng: random.Random, text: str) -> str:
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 6]
    if long:
        i = rng.choice(long)
        cut = rng.randint(2, len(words[i]) - 1)
        words[i] = words[i][:cut] + words[i][cut + 1 :]
    return " ".join(words)


def measure_case(wordings: int, searches: int) -> dict[str, Any]:
    """In this process (a child on a snapshot of kb's code): the figures of one run."""
    from sqlalchemy import event

    from kb import create_app, db
    from kb.models import Role

    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="kb-gaplog-") as tmp:
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp}/kb.db", "INDEX_DIR": f"{tmp}/index"}
        )
        db.create_schema(app)
        buffer, sessions = app.extensions["kb.searchlog"], app.extensions["kb.sessionmaker"]
        seen: list[str] = []

        def log(texts: list[str]) -> float:
            for text in texts:
                buffer.search(query=text, role=Role.AGENT, results=rng.choice((0, 3)), episode=None, source="api")
            started = time.perf_counter()
            with sessions() as session:
                buffer.flush(session)
            return time.perf_counter() - started

        for start in range(0, wordings, 1000):
            batch = [wording(rng) for _ in range(min(1000, wordings - start))]
            seen += batch
            log(batch)
        holds, began = [], []
        engine = app.extensions["kb.engine"]

        def before(conn, cursor, statement, *args) -> None:
            if statement.startswith("BEGIN IMMEDIATE"):
                began.append(time.perf_counter())

        def committed(conn) -> None:
            if began:
                holds.append((time.perf_counter() - began.pop()) * 1000)

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "commit", committed)
        seconds = 0.0
        for _ in range(0, searches, FLUSH_EVERY):
            texts = [
                with_typo(rng, rng.choice(seen)) if rng.random() < 1 / 3 else wording(rng) for _ in range(FLUSH_EVERY)
            ]
            seconds += log(texts)
        measured = (searches // FLUSH_EVERY) * FLUSH_EVERY
    return {
        "wordings": wordings,
        "searches": measured,
        "flush_ms_per_search": round(seconds * 1000 / measured, 3),
        "lock_hold_ms": distribution(holds),
        "transactions": len(holds),
    }


def run_child(code: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One run in a child process that imports kb from `code` (a snapshot), not from the tree."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    env = {k: v for k, v in env.items() if not k.startswith("KB_")}
    command = [sys.executable, __file__, "--case", str(args.wordings), str(args.searches)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=code)
    if done.returncode != 0:
        raise RuntimeError(f"the run on {code} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(runs: dict[str, dict[str, Any]]) -> None:
    names = list(runs)
    print(f"{'':34}" + "".join(f"{name:>14}" for name in names) + ("   ratio" if len(names) == 2 else ""))
    rows = [
        ("flush, ms per logged search", lambda r: r["flush_ms_per_search"]),
        ("write lock held, p50 ms", lambda r: r["lock_hold_ms"]["p50"]),
        ("write lock held, p95 ms", lambda r: r["lock_hold_ms"]["p95"]),
        ("write lock held, max ms", lambda r: r["lock_hold_ms"]["max"]),
    ]
    for label, value in rows:
        figures = [value(runs[name]) for name in names]
        ratio = f"   {figures[0] / figures[1]:.2f}" if len(figures) == 2 and figures[1] else ""
        print(f"{label:34}" + "".join(f"{f:>14}" for f in figures) + ratio)
    first = runs[names[0]]
    print(f"({first['searches']} searches after {first['wordings']} wordings; ratio: kb / reference)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wordings", type=int, default=5000, help="gap wordings seen before the measured searches")
    parser.add_argument("--searches", type=int, default=800, help=f"measured searches (a multiple of {FLUSH_EVERY})")
    parser.add_argument("--reference", help="git revision to run the same searches against, side by side")
    parser.add_argument("--out", type=Path, help="raw figures (default: benchmarks/runs/gaplog-<timestamp>.json)")
    parser.add_argument("--case", nargs=2, type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.case:
        print(json.dumps(measure_case(*args.case)))
        return 0
    if args.searches < FLUSH_EVERY:
        sys.exit(f"--searches must be at least {FLUSH_EVERY}")
    started = datetime.now(timezone.utc)
    out = args.out or RUNS_DIR / f"gaplog-{started:%Y%m%d-%H%M%S}.json"
    with tempfile.TemporaryDirectory(prefix="kb-gaplog-code-") as tmp:
        code = snapshot_kb(REPO, Path(tmp) / "now")
        report: dict[str, Any] = {"benchmark": "gaplog", "started": started.isoformat(), "machine": machine(code)}
        print(f"{time.strftime('%H:%M:%S')} kb", file=sys.stderr, flush=True)
        runs = {"kb": run_child(code, args)}
        if args.reference:
            print(f"{time.strftime('%H:%M:%S')} reference {args.reference}", file=sys.stderr, flush=True)
            old = reference_code(args.reference, Path(tmp) / "reference")
            runs[args.reference[:10]] = run_child(old, args)
    report["runs"] = runs
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print_table(runs)
    print(f"raw figures in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
