"""What reading paths cost the people who use them, at support-floor scale.

Why: an agent's "My learning" and every step they open work out, per step, whether the article
changed since they read it; a trainer's progress view does that for every assignee of a path;
marking a step read is a write on a path many agents share. This runs a real `kb serve` on a
generated corpus, gives one 30-step path to a team of `--readers` agents who have each read part
of it (and some steps' articles get new published revisions afterwards, so "updated since you
read it" has work to do), and times, over HTTP, each reader and trainer request beside the
request an agent makes anyway (the reference: opening one article). The trainer's progress view
is timed twice: alone, and while 8 readers open and mark steps as fast as they can.

One command, from the repository root (about 5 minutes at 10,000 articles the first time, most
of it building the corpus and the readers; later runs reuse both):

    .venv/bin/python benchmarks/learning.py

Options: `--size N` articles (default 10000), `--readers N` (default 500), `--repeat N` requests
per figure (default 60), `--out PATH` (default `benchmarks/runs/learning-<timestamp>.json`).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from authoring import call, print_table  # noqa: E402
from harness import HTTP_TIMEOUT, KbInstance  # noqa: E402
from hostile import REPO, RUNS_DIR  # noqa: E402
from latency import machine  # noqa: E402
from load import prepare, serve  # noqa: E402
from metrics import distribution  # noqa: E402

CACHE = REPO / "benchmarks" / "runs" / "instances"
STEPS = 30
PASSWORD = "learning-bench-1"
TEAM = "Benchmark floor"


def send(kb: KbInstance, token: str, path: str, payload: dict | None = None, method: str | None = None) -> Any:
    request = urllib.request.Request(
        kb.base_url + "/api/v1/" + path,
        data=json.dumps(payload).encode() if payload is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method or ("POST" if payload is not None else "GET"),
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        raw = response.read()
    return json.loads(raw) if raw[:1] in (b"{", b"[") else raw


def timed(kb: KbInstance, token: str, path: str, repeat: int, payload: dict | None = None) -> dict[str, float]:
    call(kb, token, path, payload)  # warm
    return distribution([call(kb, token, path, payload)[0] for _ in range(repeat)])


def timed_raw(kb: KbInstance, token: str, path: str, repeat: int) -> dict[str, float]:
    """Times of a request whose answer is not JSON (the CSV)."""
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        send(kb, token, path)
        times.append((time.perf_counter() - started) * 1000)
    return distribution(times[1:])


# --- the floor: a trainer, a team of readers, a path they are halfway through -----------------


def set_up(kb: KbInstance, readers: int) -> dict[str, Any]:
    """The trainer, the readers in a team, the path assigned to it and each reader's progress (built once)."""
    stamp = kb.root / f"learning-{readers}"
    if not stamp.exists():
        _build_floor(kb, readers)
        stamp.write_text("built\n")
    kb.tokens["trainer"] = kb.run("token", "create", "bench-trainer").strip().splitlines()[-1]
    trainer = kb.tokens["trainer"]
    path = next(p for p in send(kb, trainer, "paths")["paths"] if p["title"].startswith("Benchmark path"))
    kb.tokens["reader"] = kb.run("token", "create", "reader-0").strip().splitlines()[-1]
    return path


def _build_floor(kb: KbInstance, readers: int) -> None:
    kb.run("user", "add", "bench-trainer", "--role", "trainer", "--password", PASSWORD)
    kb.run("user", "add", "bench-admin", "--role", "admin", "--password", PASSWORD)
    admin = kb.run("token", "create", "bench-admin").strip().splitlines()[-1]
    names = [f"reader-{n}" for n in range(readers)]
    print(f"  creating {readers} readers (password hashing is slow on purpose)", file=sys.stderr)
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(lambda n: send(kb, admin, "users", {"username": n, "role": "agent", "password": PASSWORD}), names)
        )
    slugs = [a["slug"] for a in send(kb, admin, "articles")["articles"] if a["status"] == "published"][:STEPS]
    steps = [
        {"article": s, "note": f"Why step {n} matters.", "question": "What would you tell the customer?"}
        for n, s in enumerate(slugs, start=1)
    ]
    path = send(kb, admin, "paths", {"title": "Benchmark path", "purpose": "Measure", "steps": steps})
    send(kb, admin, "teams", {"name": TEAM, "members": names})
    send(kb, admin, "paths/" + str(path["id"]) + "/assign", {"teams": [TEAM], "due": "2030-01-01"})
    print("  each reader reads part of the path", file=sys.stderr)
    rng = random.Random(7)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: _read_some(kb, n, path["id"], rng.randint(0, STEPS)), names))
    for slug in slugs[:5]:  # new published revisions: "updated since you read it" for many readers
        article = send(kb, admin, f"articles/{slug}")
        body = {
            "body": article["markdown"] + "\nA sentence added after people read it.\n",
            "version": article["version"],
        }
        send(kb, admin, f"articles/{slug}", body, "PUT")


def _read_some(kb: KbInstance, username: str, path_id: int, count: int) -> None:
    token = kb.run("token", "create", username).strip().splitlines()[-1] if count else ""
    for n in range(1, count + 1):
        send(kb, token, f"paths/{path_id}/steps/{n}")
        send(kb, token, f"paths/{path_id}/steps/{n}/read", {"answer": f"Answer {n}"})


# --- measuring -------------------------------------------------------------------------------------


def measure(kb: KbInstance, path: dict, repeat: int) -> dict[str, dict[str, Any]]:
    reader, trainer, agent = kb.tokens["reader"], kb.tokens["trainer"], kb.tokens["agent"]
    pid, slug = path["id"], path["steps"][0]["article"]
    article = timed(kb, agent, f"articles/{slug}", repeat)
    rows = {
        "My learning (me/paths)": (timed(kb, reader, "me/paths", repeat), "one reader, 30 steps"),
        "open a step": (timed(kb, reader, f"paths/{pid}/steps/1", repeat), "note, article, diff; starts the clock"),
        "mark a step read": (timed(kb, reader, f"paths/{pid}/steps/2/read", repeat, {"answer": "x"}), "a write"),
    }
    results = {
        name: {"kb": t, "reference": article, "note": f"{note}; ref: open an article"}
        for name, (t, note) in rows.items()
    }
    few = max(5, repeat // 6)
    results["progress, every assignee"] = {
        "kb": timed(kb, trainer, f"paths/{pid}/progress", few),
        "reference": None,
        "note": "trainer",
    }
    results["progress as CSV"] = {
        "kb": timed_raw(kb, trainer, f"paths/{pid}/progress?format=csv", few),
        "reference": None,
        "note": "trainer",
    }
    results["progress, 8 readers busy"] = {
        "kb": _progress_under_reading(kb, pid, few),
        "reference": None,
        "note": "trainer's view while 8 readers open and mark steps",
    }
    return results


def _progress_under_reading(kb: KbInstance, path_id: int, repeat: int) -> dict[str, float]:
    stop = threading.Event()
    tokens = [kb.run("token", "create", f"reader-{n}").strip().splitlines()[-1] for n in range(1, 9)]

    def read_loop(token: str) -> None:
        step = 0
        while not stop.is_set():
            step = step % STEPS + 1
            send(kb, token, f"paths/{path_id}/steps/{step}")
            send(kb, token, f"paths/{path_id}/steps/{step}/read", {})

    threads = [threading.Thread(target=read_loop, args=(t,), daemon=True) for t in tokens]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        return timed(kb, kb.tokens["trainer"], f"paths/{path_id}/progress", repeat)
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="articles in the corpus")
    parser.add_argument("--readers", type=int, default=500, help="agents the path is assigned to")
    parser.add_argument("--repeat", type=int, default=60, help="requests per figure")
    parser.add_argument("--out", type=Path, default=None, help="raw figures (JSON)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder = CACHE / f"learning-{args.size}"
    folder.mkdir(parents=True, exist_ok=True)
    kb = prepare(folder, REPO, args.size, None)
    serve(kb, workers=2, threads=8)
    try:
        path = set_up(kb, args.readers)
        results = measure(kb, path, args.repeat)
    finally:
        kb.stop()
    print(f"\n{args.readers} readers on one {STEPS}-step path")
    print_table(results, args.size)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or RUNS_DIR / f"learning-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(REPO), "size": args.size, "readers": args.readers, "results": results}
    out.write_text(json.dumps(report, indent=2))
    print(f"raw figures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
