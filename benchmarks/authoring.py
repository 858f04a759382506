"""What the authoring features cost the people who use kb: checks, scores, preview, diff, trust signals.

Why: authors now get the content checks with every article they open and a score beside every
article in their lists; agents get "verified by" and "review overdue" with every search; the
preview renders on every pause in typing. Each is extra work on a path people wait on. This runs
a real `kb serve` on a generated corpus and times, over HTTP, each author's view beside the same
request as an agent makes it (the reference: the same article or list without the checks and
scores), plus the preview and the diff on their own.

One command, from the repository root (about 4 minutes at 10,000 articles, most of it building
the corpus the first time; later runs reuse it):

    .venv/bin/python benchmarks/authoring.py

Options: `--size N` articles (default 10000), `--repeat N` requests per figure (default 60),
`--out PATH` (default `benchmarks/runs/authoring-<timestamp>.json`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import HTTP_TIMEOUT, KbInstance  # noqa: E402
from hostile import REPO, RUNS_DIR, SHAPES  # noqa: E402
from latency import machine  # noqa: E402
from load import prepare, serve  # noqa: E402
from metrics import distribution  # noqa: E402

CACHE = REPO / "benchmarks" / "runs" / "instances"


def call(kb: KbInstance, token: str, path: str, payload: dict | None = None) -> tuple[float, Any]:
    request = urllib.request.Request(
        kb.base_url + "/api/v1/" + path,
        data=json.dumps(payload).encode() if payload is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST" if payload is not None else "GET",
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        body = json.loads(response.read())
    return (time.perf_counter() - started) * 1000, body


def timed(kb: KbInstance, token: str, path: str, repeat: int, payload: dict | None = None) -> dict[str, float]:
    call(kb, token, path, payload)  # warm
    return distribution([call(kb, token, path, payload)[0] for _ in range(repeat)])


def previewed(kb: KbInstance, token: str, body: str, repeat: int) -> dict[str, float]:
    """Preview times of `body`, made unique each time: kb keeps recent renders, and an author's
    text changes between two previews."""
    call(kb, token, "preview", {"markdown": body + "\nwarm-up\n"})
    return distribution([call(kb, token, "preview", {"markdown": f"{body}\nedit {n}\n"})[0] for n in range(repeat)])


def slugs_of(kb: KbInstance, token: str, count: int) -> list[str]:
    listed = call(kb, token, "articles")[1]["articles"]
    return [a["slug"] for a in listed[:count]]


def edited(kb: KbInstance, token: str, slug: str) -> None:
    """Give `slug` a second revision, so that it has something to diff."""
    _, article = call(kb, token, f"articles/{slug}")
    body = article["markdown"].replace(" the ", " a ", 5) + "\nOne more sentence for the diff.\n"
    request = urllib.request.Request(
        f"{kb.base_url}/api/v1/articles/{slug}",
        data=json.dumps({"body": body, "version": article["version"]}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        response.read()


def measure(kb: KbInstance, repeat: int) -> dict[str, dict[str, Any]]:
    agent, author = kb.tokens["agent"], kb.tokens["author"]
    slug = slugs_of(kb, agent, 1)[0]
    edited(kb, author, slug)
    typical = call(kb, author, f"articles/{slug}")[1]["markdown"]
    big = SHAPES["starter articles"][0](500_000)
    query = urllib.parse.urlencode({"q": "password reset"})
    return {
        "open an article": {
            "kb": timed(kb, author, f"articles/{slug}", repeat),
            "reference": timed(kb, agent, f"articles/{slug}", repeat),
            "note": "author (with checks and golden warnings) vs agent",
        },
        "list every article": {
            "kb": timed(kb, author, "articles", max(5, repeat // 6)),
            "reference": timed(kb, agent, "articles", max(5, repeat // 6)),
            "note": "author (with scores and broken-link counts) vs agent",
        },
        "search": {
            "kb": timed(kb, agent, f"search?{query}", repeat),
            "reference": None,
            "note": "agent, with 'verified by' and 'review overdue' per result",
        },
        "preview, typical article": {
            "kb": previewed(kb, author, typical, repeat),
            "reference": None,
            "note": f"{len(typical.encode()):,} bytes",
        },
        "preview, 500 KB of real text": {
            "kb": previewed(kb, author, big, max(5, repeat // 10)),
            "reference": None,
            "note": "the largest body kb accepts",
        },
        "diff, two revisions": {
            "kb": timed(kb, author, f"articles/{slug}/diff", repeat),
            "reference": None,
            "note": "word by word, with the changed fields",
        },
    }


def print_table(results: dict[str, dict[str, Any]], size: int) -> None:
    print(f"\n{size:,} articles; times in ms over HTTP")
    print(f"{'request':<30}{'kb p50':>9}{'kb p95':>9}{'ref p50':>9}{'ref p95':>9}{'ratio p95':>11}  note")
    for name, row in results.items():
        kb, ref = row["kb"], row["reference"]
        cells = f"{kb['p50']:>9.1f}{kb['p95']:>9.1f}"
        if ref:
            cells += f"{ref['p50']:>9.1f}{ref['p95']:>9.1f}{kb['p95'] / ref['p95']:>10.2f}x"
        else:
            cells += f"{'-':>9}{'-':>9}{'-':>11}"
        print(f"{name:<30}{cells}  {row['note']}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="articles in the corpus")
    parser.add_argument("--repeat", type=int, default=60, help="requests per figure")
    parser.add_argument("--out", type=Path, default=None, help="raw figures (JSON)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder = CACHE / f"authoring-{args.size}"
    folder.mkdir(parents=True, exist_ok=True)
    kb = prepare(folder, REPO, args.size, None)
    serve(kb, workers=1, threads=8)
    try:
        results = measure(kb, args.repeat)
    finally:
        kb.stop()
    print_table(results, args.size)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or RUNS_DIR / f"authoring-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(REPO), "size": args.size, "results": results}, indent=2))
    print(f"raw figures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
