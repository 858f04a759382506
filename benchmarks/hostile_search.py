"""Agents' searches while authors save the costliest articles kb accepts.

Why: `hostile.py` times each shape's render and index steps on their own; what an agent lives
with is a search answered while someone else's 500 KB article is saved (the save request renders
it to check it) and indexed (the index writer renders it again and analyses every field), in the
same server processes. This runs a real `kb serve` on the starter articles and measures search
latency over HTTP from several clients, first with nothing else happening, then while one author
saves, back to back, the 500 KB bodies of `hostile.py`'s real-text and at-the-limit shapes.

One command, from the repository root (about a minute and a half):

    .venv/bin/python benchmarks/hostile_search.py

Options: `--seconds S` per phase (default 25), `--clients N` searching at once (default 4),
`--serve-args "..."` (default `--threads 8`), `--out PATH` (default
`benchmarks/runs/hostile-search-<timestamp>.json`). Both phases run on the same instance, same
clients and queries: the idle phase is the reference the ratios compare against.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import HTTP_TIMEOUT, KbInstance  # noqa: E402
from hostile import ARTICLES, REPO, RUNS_DIR, SHAPES  # noqa: E402
from latency import machine  # noqa: E402
from metrics import distribution  # noqa: E402

QUERIES = (
    "printer offline",
    "wifi connected no internet",
    "outlook keeps asking for password",
    "vpn connected but nothing loads",
    "bitlocker recovery key",
    "teams microphone",
    "mailbox full",
    "account locked",
)
# The costliest bodies kb accepts, at 500 KB: real text and the at-the-limit shapes.
WORST = ("starter articles", "paragraphs at the limit", "headings at the limit", "emphasis at the limit")
SIZE = 500_000


def search_clients(kb: KbInstance, seconds: float, clients: int) -> tuple[list[float], int]:
    """`clients` threads searching back to back for `seconds`: every wall time, and the errors."""
    times: list[float] = []
    errors = [0]
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        n = offset
        while time.monotonic() < deadline:
            try:
                times.append(kb.search(QUERIES[n % len(QUERIES)]).wall_ms)
            except Exception:  # noqa: BLE001  an error is a figure here, not a crash
                errors[0] += 1
            n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, errors[0]


def save(kb: KbInstance, token: str, number: int, body: str) -> float:
    payload = {"title": f"Hostile article {number}", "slug": f"hostile-{number}", "body": body, "status": "published"}
    request = urllib.request.Request(
        f"{kb.base_url}/api/v1/articles",
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def author(kb: KbInstance, token: str, stop: threading.Event, saves: list[float]) -> None:
    bodies = [SHAPES[name][0](SIZE - 100) for name in WORST]
    number = 0
    while not stop.is_set():
        # Each body unique, as authors' are: kb keeps recent renders, and a repeat would hit them.
        body = bodies[number % len(bodies)] + f"\n\nSaved as number {number}.\n"
        saves.append(save(kb, token, number, body))
        number += 1


def pending(kb: KbInstance, token: str) -> int:
    request = urllib.request.Request(f"{kb.base_url}/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        return int(json.loads(response.read())["index"]["pending_articles"])


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kb-hostile-search-") as tmp:
        kb = KbInstance(Path(tmp))
        kb.run("import", str(ARTICLES))
        kb.create_agent()
        kb.run("user", "add", "bench-author", "--role", "admin", "--password", "bench-password-2")
        token = kb.run("token", "create", "bench-author").strip().splitlines()[-1].strip()
        kb.start(*args.serve_args.split())
        try:
            search_clients(kb, 3, args.clients)  # warm the searchers' caches
            print(f"idle: {args.clients} clients searching for {args.seconds:.0f} s", flush=True)
            idle, idle_errors = search_clients(kb, args.seconds, args.clients)
            print("while an author saves 500 KB articles back to back", flush=True)
            stop, saves = threading.Event(), []
            writing = threading.Thread(target=author, args=(kb, token, stop, saves))
            writing.start()
            busy, busy_errors = search_clients(kb, args.seconds, args.clients)
            stop.set()
            writing.join()
            backlog = pending(kb, token)
            ended = time.monotonic()
            while pending(kb, token) and time.monotonic() - ended < 300:
                time.sleep(0.2)
            caught_up = time.monotonic() - ended
        finally:
            kb.stop()
    return {
        "idle": {"searches": len(idle), "errors": idle_errors, **distribution(idle)},
        "saving": {"searches": len(busy), "errors": busy_errors, **distribution(busy)},
        "saves": {"count": len(saves), **distribution(saves)},
        "pending_after": backlog,
        "caught_up_s": round(caught_up, 1),
    }


def print_report(result: dict[str, Any]) -> None:
    idle, busy = result["idle"], result["saving"]
    print(f"\n{'search wall ms':<16}{'idle':>10}{'saving':>10}{'ratio':>8}")
    for key in ("p50", "p95", "p99", "max"):
        print(f"{key:<16}{idle[key]:>10.1f}{busy[key]:>10.1f}{busy[key] / idle[key]:>7.1f}x")
    print(f"{'searches':<16}{idle['searches']:>10}{busy['searches']:>10}")
    print(f"{'errors':<16}{idle['errors']:>10}{busy['errors']:>10}")
    saves = result["saves"]
    print(
        f"\n{saves['count']} saves of 500 KB ({', '.join(WORST)}): p50 {saves['p50']:.0f} ms, "
        f"max {saves['max']:.0f} ms; {result['pending_after']} still to index when the phase ended, "
        f"all indexed {result['caught_up_s']:.1f} s later"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=25.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=4, help="agents searching at once")
    parser.add_argument("--serve-args", default="--threads 8", help="options for kb serve")
    parser.add_argument("--out", type=Path, default=None, help="raw figures (JSON)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = {"machine": machine(REPO), "clients": args.clients, "seconds": args.seconds, **run(args)}
    print_report(result)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or RUNS_DIR / f"hostile-search-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"raw figures in {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
