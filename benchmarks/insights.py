"""What the knowledge loop's pages cost with a year of use behind them.

Why: the insights dashboard, the gap queue and the recurring-problems board aggregate everything
agents did: the issue asks for answers under 500 ms with 100,000 logged searches and 20,000
calls. This builds a real instance (10,000 generated articles), fills it with that history
(searches over the last 180 days, 12% with no results, a third of the rest never clicked; calls
over a year, two thirds linked to an article with a Zipf-like reuse, 15% not solved, 10% with no
article; votes; root fixes on the most used articles, some fixed three weeks ago), then times,
over HTTP against `kb serve --workers 2 --threads 8`:

- each page (HTML, as an author signed in with a cookie) and its JSON API twin, one client; the
  dashboard both computed (a new date range each request: kb reuses a range's figures for 60 s)
  and reused (the same range again);
- cold: the first request of each page after the server restarts (the OS file cache stays warm:
  dropping it needs root);
- 4 clients at once on the dashboard, each request a new range;
- the dashboard (new ranges) while agents write non-stop (recording calls and searching, 4 threads).

Beside each figure, the reference: opening one article through the API (what an agent does on
every call), so the ratio says what the loop costs against kb's cheapest useful request.

One command, from the repository root (about 5 minutes the first time, most of it building the
corpus and the history; later runs reuse both):

    .venv/bin/python benchmarks/insights.py

Options: `--size N` articles (default 10000), `--searches N` (100000), `--calls N` (20000),
`--repeat N` requests per figure (default 30), `--database URL` (PostgreSQL instead of the SQLite
file), `--out PATH` (default `benchmarks/runs/insights-<timestamp>.json`).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import random
import re
import secrets
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from authoring import call, print_table  # noqa: E402
from harness import HTTP_TIMEOUT, KbInstance  # noqa: E402
from hostile import REPO, RUNS_DIR  # noqa: E402
from latency import machine  # noqa: E402
from load import prepare, progress, serve  # noqa: E402
from metrics import distribution  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from kb import create_app  # noqa: E402
from kb.db import get_session  # noqa: E402
from kb.loop import gaps  # noqa: E402
from kb.models import Article, Call, Feedback, Role, RootFix, SearchLog, Status, User  # noqa: E402
from kb.vocabulary import current_vocabulary  # noqa: E402

CACHE = REPO / "benchmarks" / "runs" / "instances"
PASSWORD = "insights-bench-1"
TARGET_MS = 500.0
PAGES = {
    "dashboard": ("/insights/", "insights"),
    "gap queue": ("/insights/gaps", "gaps"),
    "recurring board": ("/insights/recurring", "insights/recurring"),
}


# --- the history ----------------------------------------------------------------------------------


def fill_history(kb: KbInstance, searches: int, calls: int) -> None:
    """Write the searches, calls, votes and root fixes once, straight into the instance's database."""
    stamp = kb.root / f"history-{searches}-{calls}"
    if stamp.exists():
        return
    app = create_app(
        {
            "DATABASE_URL": kb.env["KB_DATABASE_URL"],
            "INDEX_DIR": kb.env["KB_INDEX_DIR"],
            "SECRET_KEY": "bench",
            "BACKGROUND": False,
            "ARTICLES_DIR": kb.env["KB_ARTICLES_DIR"],
        }
    )
    with app.app_context():
        _fill(get_session(), searches, calls)
    stamp.write_text("filled\n")


def _fill(session, searches: int, calls: int) -> None:
    rng = random.Random(12)
    now = datetime.now(timezone.utc)
    articles = session.execute(
        select(Article.id, Article.slug, Article.title).where(Article.status == Status.PUBLISHED).limit(3000)
    ).all()
    wordings = _wordings(rng, [title for _, _, title in articles])
    vocabulary = current_vocabulary(session)
    progress(f"  matching {len(wordings):,} wordings to gaps")
    gap_of = {}
    for n, wording in enumerate(wordings):
        gap = gaps.gap_for(session, wording, vocabulary)
        gap_of[wording] = gap.id if gap else None
        if n % 500 == 499:
            session.commit()
    session.commit()
    users = _users(session, 300)
    progress(f"  {searches:,} searches, {calls:,} calls")
    _bulk(session, SearchLog, (_search(rng, now, wordings, gap_of, articles) for _ in range(searches)))
    _bulk(session, Call, (_call(rng, now, wordings, gap_of, articles, users) for _ in range(calls)))
    votes = {(rng.choice(articles[:500])[0], rng.choice(users)) for _ in range(6000)}
    _bulk(session, Feedback, (_vote(rng, now, a, u) for a, u in votes))
    _root_fixes(session, rng, now, articles[:40])
    session.commit()


def _wordings(rng: random.Random, titles: list[str]) -> list[str]:
    """Customer wordings: article titles cut short, reworded, misspelled, and some about nothing kb has."""
    found: list[str] = []
    for title in titles[:2000]:
        words = title.lower().split()
        found.append(" ".join(words[: rng.randint(2, max(2, len(words)))]))
        if rng.random() < 0.5:
            found.append(" ".join(rng.sample(words, k=min(len(words), 3))) + " not working")
        if rng.random() < 0.2 and words:
            word = max(words, key=len)
            found.append(" ".join(words).replace(word, word[:-2] + word[-1] + word[-2], 1))
    found += [f"zorbix {rng.randint(1, 400)} sync error" for _ in range(400)]
    return list(dict.fromkeys(found))


def _users(session, count: int) -> list[int]:
    existing = list(session.scalars(select(User.id).where(User.username.like("floor-%"))))
    if not existing:
        session.execute(
            insert(User),
            [
                {"username": f"floor-{n}", "password_hash": "!", "role": Role.AGENT, "extra_roles": []}
                for n in range(count)
            ],
        )
        session.commit()
        existing = list(session.scalars(select(User.id).where(User.username.like("floor-%"))))
    return existing


def _when(rng: random.Random, now: datetime, days: int) -> datetime:
    return now - timedelta(seconds=rng.random() * days * 86400)


def _search(rng, now, wordings, gap_of, articles) -> dict[str, Any]:
    wording = (
        wordings[min(len(wordings) - 1, int(rng.paretovariate(1.2)) - 1)]
        if rng.random() < 0.5
        else rng.choice(wordings)
    )
    results = 0 if rng.random() < 0.12 else rng.randint(1, 40)
    opened = rng.choice(articles)[1] if results and rng.random() < 0.66 else None
    at = _when(rng, now, 180)
    return {
        "episode": secrets.token_urlsafe(12),
        "created_at": at,
        "query": wording,
        "role": "agent",
        "source": "ui",
        "results": results,
        "opened_slug": opened,
        "opened_at": at + timedelta(seconds=20) if opened else None,
        "gap_id": gap_of[wording],
    }


def _call(rng, now, wordings, gap_of, articles, users) -> dict[str, Any]:
    roll = rng.random()
    outcome = "solved" if roll < 0.6 else "partly" if roll < 0.75 else "not_solved" if roll < 0.9 else "no_article"
    article = None if outcome == "no_article" else articles[min(len(articles) - 1, int(rng.paretovariate(0.9)) - 1)]
    words = rng.choice(wordings) if outcome in ("not_solved", "no_article") else ""
    return {
        "created_at": _when(rng, now, 365),
        "user_id": rng.choice(users),
        "article_id": article[0] if article else None,
        "outcome": outcome,
        "case_ref": f"INC{rng.randint(100000, 999999)}",
        "words": words,
        "gap_id": gap_of.get(words) if words else None,
    }


def _vote(rng, now, article_id: int, user_id: int) -> dict[str, Any]:
    helpful = rng.random() < 0.8
    return {
        "article_id": article_id,
        "user_id": user_id,
        "helpful": helpful,
        "created_at": _when(rng, now, 180),
        "comment": "" if helpful else "needed the steps for the new version",
    }


def _root_fixes(session, rng, now, top) -> None:
    rows = []
    for n, (article_id, _slug, _title) in enumerate(top):
        fixed = n % 3 == 0
        rows.append(
            {
                "article_id": article_id,
                "cause": "product defect",
                "fix": "Fix the client so this stops happening.",
                "owner": "Platform team",
                "status": "fixed" if fixed else "accepted",
                "link": "https://tracker.example/FIX-" + str(n),
                "fixed_at": now - timedelta(weeks=3) if fixed else None,
                "resolved_at": None,
                "updated_at": now,
                "version": 1,
            }
        )
    session.execute(insert(RootFix), rows)


def _bulk(session, table, rows, chunk: int = 10_000) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == chunk:
            session.execute(insert(table), batch)
            session.commit()
            batch = []
    if batch:
        session.execute(insert(table), batch)
        session.commit()


# --- the clients -----------------------------------------------------------------------------------


class Browser:
    """An author signed in with a cookie, as the pages are used (login form, CSRF token and all)."""

    def __init__(self, kb: KbInstance, username: str):
        self.kb = kb
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": PASSWORD}).encode()
        self.opener.open(kb.base_url + "/login", data=form, timeout=HTTP_TIMEOUT).read()

    def get(self, path: str) -> str:
        with self.opener.open(self.kb.base_url + path, timeout=HTTP_TIMEOUT) as response:
            return response.read().decode()

    def timed(self, path: str) -> float:
        started = time.perf_counter()
        self.get(path)
        return (time.perf_counter() - started) * 1000


def raw_timed(kb: KbInstance, token: str, path: str) -> float:
    request = urllib.request.Request(kb.base_url + "/api/v1/" + path, headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def repeated(measure: Callable[[], float], repeat: int) -> dict[str, float]:
    measure()  # warm
    return distribution([measure() for _ in range(repeat)])


# --- measuring -------------------------------------------------------------------------------------


def fresh_ranges(days: int) -> Callable[[], str]:
    """Query strings of `days`-day ranges, each ending a day earlier than the last: never a cache hit."""
    today = datetime.now(timezone.utc).date()
    counter = iter(range(10_000))

    def next_range() -> str:
        last = today - timedelta(days=next(counter))
        return f"from={(last - timedelta(days=days - 1)).isoformat()}&to={last.isoformat()}"

    return next_range


def measure(kb: KbInstance, repeat: int) -> dict[str, dict[str, Any]]:
    author, agent = kb.tokens["bench-author"], kb.tokens["agent"]
    slugs = [a["slug"] for a in call(kb, agent, "articles")[1]["articles"]]
    reference = repeated(lambda: call(kb, agent, f"articles/{slugs[0]}")[0], repeat)
    browser = Browser(kb, "bench-author")
    results: dict[str, dict[str, Any]] = {}
    month, half_year = fresh_ranges(30), fresh_ranges(180)
    results["dashboard (page), computed"] = _row(
        repeated(lambda: browser.timed(f"/insights/?{month()}"), repeat),
        reference,
        "HTML, a new 30-day range each time",
    )
    results["dashboard (API), computed"] = _row(
        repeated(lambda: raw_timed(kb, author, f"insights?{month()}"), repeat), reference, "JSON, a new range each time"
    )
    results["dashboard (page), same range"] = _row(
        repeated(lambda: browser.timed("/insights/"), repeat), reference, "HTML, figures reused up to 60 s"
    )
    for name, (page, api) in PAGES.items():
        if name != "dashboard":
            results[f"{name} (page)"] = _row(repeated(lambda p=page: browser.timed(p), repeat), reference, "HTML")
            results[f"{name} (API)"] = _row(repeated(lambda a=api: raw_timed(kb, author, a), repeat), reference, "JSON")
    results["dashboard, 180 days, computed"] = _row(
        repeated(lambda: browser.timed(f"/insights/?{half_year()}"), repeat), reference, "HTML, a new range each time"
    )
    results["dashboard, 4 clients, computed"] = _row(
        _concurrent(kb, 4, repeat, fresh_ranges(30)), reference, "HTML, 4 authors at once, new ranges"
    )
    results["dashboard, agents writing"] = _row(
        _under_writes(kb, browser, slugs[:200], repeat), reference, "HTML, 4 agents write, new ranges"
    )
    return results


def _row(figures: dict[str, float], reference: dict[str, float], note: str) -> dict[str, Any]:
    return {"kb": figures, "reference": reference, "note": f"{note}; ref: open an article"}


def _concurrent(kb: KbInstance, clients: int, repeat: int, ranges: Callable[[], str]) -> dict[str, float]:
    browsers = [Browser(kb, "bench-author") for _ in range(clients)]
    lock = threading.Lock()

    def one(browser: Browser) -> float:
        with lock:
            query = ranges()
        return browser.timed(f"/insights/?{query}")

    with ThreadPoolExecutor(clients) as pool:
        times = pool.map(lambda b: [one(b) for _ in range(repeat)], browsers)
        return distribution([t for per_client in times for t in per_client])


def _under_writes(kb: KbInstance, browser: Browser, slugs: list[str], repeat: int) -> dict[str, float]:
    stop = threading.Event()
    agent = kb.tokens["agent"]
    rng = random.Random(3)
    ranges = fresh_ranges(30)

    def work() -> None:
        while not stop.is_set():
            call(kb, agent, "calls", {"article": rng.choice(slugs), "outcome": rng.choice(["solved", "not_solved"])})
            call(kb, agent, f"search?q={urllib.parse.quote(rng.choice(slugs).replace('-', ' '))}")

    threads = [threading.Thread(target=work, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        return repeated(lambda: browser.timed(f"/insights/?{ranges()}"), repeat)
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def cold(kb: KbInstance) -> dict[str, float]:
    """The first request of each page after the server (re)starts: nothing cached in kb's processes."""
    kb.stop()
    serve(kb, workers=2, threads=8)
    browser = Browser(kb, "bench-author")
    return {name: round(browser.timed(page), 1) for name, (page, _api) in PAGES.items()}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="articles in the corpus")
    parser.add_argument("--searches", type=int, default=100_000, help="logged searches")
    parser.add_argument("--calls", type=int, default=20_000, help="recorded calls")
    parser.add_argument("--repeat", type=int, default=30, help="requests per figure")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL instead of the SQLite file")
    parser.add_argument("--out", type=Path, default=None, help="raw figures (JSON)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder = CACHE / f"insights-{args.size}{'-pg' if args.database else ''}"
    folder.mkdir(parents=True, exist_ok=True)
    kb = prepare(folder, REPO, args.size, args.database)
    fill_history(kb, args.searches, args.calls)
    if not (folder / "bench-author").exists():
        kb.run("user", "add", "bench-author", "--role", "author", "--password", PASSWORD)
        (folder / "bench-author").write_text("added\n")
    kb.tokens["bench-author"] = kb.run("token", "create", "bench-author").strip().splitlines()[-1]
    serve(kb, workers=2, threads=8)
    try:
        results = measure(kb, args.repeat)
        first = cold(kb)
    finally:
        kb.stop()
    print(f"\n{args.searches:,} searches and {args.calls:,} calls logged; target: every page p95 < {TARGET_MS:.0f} ms")
    print_table(results, args.size)
    print("cold (first request after a restart), ms: " + ", ".join(f"{k} {v}" for k, v in first.items()))
    missed = [name for name, row in results.items() if row["kb"]["p95"] >= TARGET_MS]
    print("target met by every figure" if not missed else f"target missed by: {', '.join(missed)}")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or RUNS_DIR / f"insights-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(REPO), "size": args.size, "searches": args.searches, "calls": args.calls}
    out.write_text(json.dumps({**report, "results": results, "cold": first}, indent=2))
    print(f"raw figures in {out}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
