"""The knowledge loop through the pages: calls recorded in one click, the "no article" path from a
search that found nothing, the gap queue (draft, attach, dismiss), the root-fix form, the insights
dashboard with figures from known data, its CSV downloads, the recurring-problems board and the
admins' cause categories. Real forms (CSRF on), a real database and index from the starter articles.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
from conftest import add_user, client_for

from kb import feedback, store
from kb.auth import find_user
from kb.db import get_session, utcnow
from kb.loop import insights
from kb.models import Call, Feedback, Outcome, Role

PRINTER, VPN = "printer-shows-offline", "vpn-will-not-connect"


def send(client, url: str, data: dict, page: str = "/"):
    """Post a form as the signed-in user's browser would, with the CSRF token of their pages."""
    return client.submit(url, data, token_page=page)


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def gap_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="gap[^"]*" id="gap-([0-9]+)"', page)]


def no_article_call(agent, words: str) -> None:
    recorded = send(agent, "/calls", {"words": words, "case": "T-1", "next": "/"})
    assert recorded.status_code == 303, recorded.get_data(as_text=True)


def gap_saying(author, words: str, state: str = "open") -> int:
    """The id of the gap in the queue whose block holds `words`."""
    page = text_of(author.get(f"/insights/gaps?state={state}"))
    for block in re.findall(r'<li class="gap.*?</li>\s*(?=<li class="gap|</ol>)', page, re.S):
        if words in block:
            return gap_ids(block)[0]
    raise AssertionError(f"no {state} gap says {words!r}")


# --- calls ----------------------------------------------------------------------------------------


def test_one_click_on_the_article_records_the_call_and_the_page_shows_its_use(starter_app):
    agent, author = client_for(starter_app, "agent"), client_for(starter_app, "author")
    page = text_of(agent.get(f"/articles/{PRINTER}"))
    assert "Not used on a call yet" in page
    assert f'action="/articles/{PRINTER}/calls"' in page
    assert all(f'name="outcome" value="{o}"' in page for o in ("solved", "partly", "not_solved"))

    recorded = send(agent, f"/articles/{PRINTER}/calls", {"outcome": "solved", "case": "INC-42"})
    assert recorded.status_code == 303 and recorded.headers["Location"] == f"/articles/{PRINTER}"
    page = text_of(agent.get(recorded.headers["Location"]))
    assert "Recorded: a call solved with" in page
    today = utcnow().date().isoformat()
    assert re.search(rf"Last used on a call <time[^>]*>{today}</time> · 1 call in the last 30 days", page)

    for _ in range(2):
        send(agent, f"/articles/{PRINTER}/calls", {"outcome": "not_solved"})
    assert "3 calls in the last 30 days" in text_of(agent.get(f"/articles/{PRINTER}"))
    assert "calls not solved" not in text_of(agent.get(f"/articles/{PRINTER}"))  # for its authors
    assert "2 of 3 calls not solved" in text_of(author.get(f"/articles/{PRINTER}"))
    with starter_app.app_context():
        calls = get_session().query(Call).order_by(Call.id).all()
        assert [(c.outcome, c.case_ref, c.article.slug) for c in calls] == [
            (Outcome.SOLVED, "INC-42", PRINTER),
            (Outcome.NOT_SOLVED, "", PRINTER),
            (Outcome.NOT_SOLVED, "", PRINTER),
        ]


def test_a_refused_call_says_why_and_next_never_leaves_kb(starter_app):
    agent = client_for(starter_app, "agent")
    bad = send(agent, f"/articles/{PRINTER}/calls", {"outcome": "no_article"})
    assert bad.status_code == 303
    assert "Not recorded: article:" in text_of(agent.get(bad.headers["Location"]))
    assert "Not recorded: case:" in text_of(
        agent.get(
            send(agent, f"/articles/{PRINTER}/calls", {"outcome": "solved", "case": "x" * 121}).headers["Location"]
        )
    )
    for outside in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        answer = send(agent, f"/articles/{PRINTER}/calls", {"outcome": "solved", "next": outside})
        assert answer.headers["Location"] == f"/articles/{PRINTER}", outside
    assert send(agent, "/articles/no-such-article/calls", {"outcome": "solved"}).status_code == 404


def test_a_search_result_records_a_solved_call_and_returns_to_the_search(starter_app):
    agent = client_for(starter_app, "agent")
    page = agent.get("/?q=printer+offline&sid=abcdefghijkl").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="/articles/{PRINTER}/calls".*?</form>', page, re.S).group(0)
    back = html.unescape(re.search(r'name="next" value="([^"]+)"', form).group(1))
    assert back.startswith("/?") and "q=printer+offline" in back and "sid=abcdefghijkl" in back
    assert 'name="outcome" value="solved"' in form and "Solved a call" in form
    recorded = send(agent, f"/articles/{PRINTER}/calls", {"outcome": "solved", "next": back})
    assert recorded.status_code == 303 and recorded.headers["Location"] == back
    fragment = agent.get("/search/results?q=printer+offline&sid=abcdefghijkl&typing=1").get_data(as_text=True)
    assert "typing" not in html.unescape(re.search(r'name="next" value="([^"]+)"', fragment).group(1))


def test_a_search_that_found_nothing_offers_the_no_article_call_and_it_becomes_a_gap(starter_app):
    agent, author = client_for(starter_app, "agent"), client_for(starter_app, "author")
    page = text_of(agent.get("/?q=quantum+flux+capacitor"))
    assert "No article helped? Record the call" in page
    assert 'name="words" value="quantum flux capacitor"' in page
    assert 'action="/calls"' in page

    recorded = send(
        agent, "/calls", {"words": "quantum flux capacitor", "case": "T-9", "next": "/?q=quantum+flux+capacitor"}
    )
    assert recorded.status_code == 303 and recorded.headers["Location"] == "/?q=quantum+flux+capacitor"
    assert "the customer's words are now a knowledge gap" in text_of(agent.get(recorded.headers["Location"]))
    queue = text_of(author.get("/insights/gaps"))
    assert "quantum flux capacitor" in queue and "Calls no article helped: 1" in queue

    empty = send(agent, "/calls", {"words": "  ", "next": "/"})
    assert "Not recorded: words:" in text_of(agent.get(empty.headers["Location"]))


def test_a_not_helpful_vote_says_what_was_needed_and_feeds_the_gap_queue(starter_app):
    agent, author = client_for(starter_app, "agent"), client_for(starter_app, "author")
    page = agent.get(f"/articles/{PRINTER}").get_data(as_text=True)
    no_form = re.search(
        r'<form[^>]*helpful[^>]*>(?:(?!</form>).)*value="no"(?:(?!</form>).)*</form>', page, re.S
    ).group(0)
    assert 'name="comment"' in no_form and 'value="yes"' not in no_form  # Enter in the comment field means No
    voted = send(agent, f"/articles/{PRINTER}/helpful", {"helpful": "no", "comment": "needed the steps for macOS"})
    assert voted.status_code == 302 and "flag=1" in voted.headers["Location"]
    queue = text_of(author.get("/insights/gaps"))
    assert "“needed the steps for macOS”" in queue and '"Not helpful" votes: 1' in queue


# --- the gap queue --------------------------------------------------------------------------------


def test_an_author_turns_a_gap_into_a_draft_with_the_customers_words(starter_app):
    agent, author = client_for(starter_app, "agent"), client_for(starter_app, "author")
    no_article_call(agent, "label printer prints blank pages")
    gap_id = gap_saying(author, "label printer prints blank pages")
    drafted = send(author, f"/insights/gaps/{gap_id}/draft", {}, page="/insights/gaps")
    assert drafted.status_code == 303
    assert re.fullmatch(r"/author/articles/[a-z0-9-]+/edit", drafted.headers["Location"])
    editor = text_of(author.get(drafted.headers["Location"]))
    body = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', editor, re.S).group(1)
    notices = body.split("## What the customer notices", 1)[1].split("\n## ", 1)[0]
    assert '\n- "label printer prints blank pages"\n' in notices  # quoted: kb.render's customer phrasings
    assert "Draft written from the gap" in editor

    closed = text_of(author.get("/insights/gaps?state=closed"))
    assert f'id="gap-{gap_id}"' in closed and "Turned into a draft as <a href=" in closed and "by author-user" in closed
    again = send(author, f"/insights/gaps/{gap_id}/draft", {}, page="/insights/gaps")
    assert again.status_code == 409
    assert f"Not done: gap #{gap_id} was turned into a draft by author-user already" in text_of(again)


def test_an_author_attaches_a_gap_to_an_article_or_dismisses_it_with_a_reason(starter_app):
    agent, author = client_for(starter_app, "agent"), client_for(starter_app, "author")
    no_article_call(agent, "printer queue stuck after update")
    no_article_call(agent, "customer wants a refund for the yacht")
    stuck, yacht = gap_saying(author, "printer queue stuck"), gap_saying(author, "refund for the yacht")

    unknown = send(author, f"/insights/gaps/{stuck}/attach", {"article": "no-such-article"}, page="/insights/gaps")
    assert unknown.status_code == 400
    assert re.search(r"<span class=\"field-error\"[^>]*>there is no article 'no-such-article'</span>", text_of(unknown))
    assert 'value="no-such-article"' in text_of(unknown)  # the text sent is kept
    attached = send(author, f"/insights/gaps/{stuck}/attach", {"article": PRINTER}, page="/insights/gaps")
    assert attached.status_code == 303 and "Attached to" in text_of(author.get(attached.headers["Location"]))
    with starter_app.app_context():
        assert '- "printer queue stuck after update"' in store.find_by_slug(get_session(), PRINTER).body
    closed = text_of(author.get("/insights/gaps?state=closed"))
    assert f'Attached to <a href="/articles/{PRINTER}">' in closed

    no_reason = send(author, f"/insights/gaps/{yacht}/dismiss", {"reason": "  "}, page="/insights/gaps")
    assert no_reason.status_code == 400
    assert re.search(r'<span class="field-error"[^>]*>say why the gap is dismissed', text_of(no_reason))
    dismissed = send(author, f"/insights/gaps/{yacht}/dismiss", {"reason": "Not ours: sales answers it"}, page="/")
    assert dismissed.status_code == 303
    page = text_of(author.get("/insights/gaps?state=dismissed"))
    assert f'id="gap-{yacht}"' in page and "Dismissed by author-user" in page and "“Not ours: sales answers it”" in page
    assert yacht not in gap_ids(text_of(author.get("/insights/gaps")))
    late = send(author, f"/insights/gaps/{yacht}/dismiss", {"reason": "again"}, page="/")
    assert late.status_code == 409 and "was dismissed by author-user already" in text_of(late)
    assert send(author, "/insights/gaps/99999/dismiss", {"reason": "x"}, page="/").status_code == 404
    assert author.get("/insights/gaps?state=bogus").status_code == 400


# --- root causes ----------------------------------------------------------------------------------


def root_fix_form(**values) -> dict:
    form = {
        "cause": "product defect",
        "fix": "Ship printer driver 4.2 with the spooler fix",
        "owner": "Platform team",
        "status": "accepted",
        "link": "https://tracker.example/PLAT-1",
        "version": "0",
    }
    return {**form, **values}


def test_the_root_fix_form_saves_shows_errors_at_their_field_and_refuses_a_stale_version(starter_app):
    agent, author = client_for(starter_app, "agent"), client_for(starter_app, "author")
    url = f"/insights/root-fix/{PRINTER}"
    editor = text_of(author.get(f"/articles/{PRINTER}"))
    assert f'action="{url}"' in editor and '<option value="product defect">product defect</option>' in editor
    assert "Root cause and fix" not in text_of(agent.get(f"/articles/{PRINTER}"))  # nothing to show agents yet

    saved = send(author, url, root_fix_form())
    assert saved.status_code == 303 and saved.headers["Location"] == f"/articles/{PRINTER}#root-fix"
    seen = text_of(agent.get(f"/articles/{PRINTER}"))
    assert "<strong>Known problem</strong> (product defect): fix accepted, owner Platform team." in seen
    assert '<a href="https://tracker.example/PLAT-1"' in seen and "Ship printer driver 4.2" in seen
    assert f'action="{url}"' not in seen  # agents read it, authors edit it

    bad = send(author, url, root_fix_form(fix="Driver 4.3 instead", link="tracker PLAT-1", version="1"))
    assert bad.status_code == 400
    page = text_of(bad)
    assert re.search(r"Link <small>.*?</small> <span class=\"field-error\"[^>]*>must be a web address", page, re.S)
    assert ">Driver 4.3 instead</textarea>" in page and 'value="tracker PLAT-1"' in page

    stale = send(author, url, root_fix_form(fix="Driver 4.4", version="0"))
    assert stale.status_code == 409
    page = text_of(stale)
    assert "Not saved: the root fix was changed by someone else (it is now at version 1)" in page
    assert ">Driver 4.4</textarea>" in page and 'name="version" value="1"' in page

    early = send(author, url, root_fix_form(resolved="1", version="1"))
    assert early.status_code == 400 and "only a fix with status" in text_of(early)
    done = send(author, url, root_fix_form(status="fixed", resolved="1", version="1"))
    assert done.status_code == 303
    seen = text_of(agent.get(f"/articles/{PRINTER}"))
    assert (
        "(product defect): fixed, owner Platform team, resolved at the root." in seen and "Resolved at the root" in seen
    )
    assert send(agent, url, root_fix_form(version="2")).status_code == 403
    assert send(author, "/insights/root-fix/no-such-article", root_fix_form()).status_code == 404


# --- the dashboard --------------------------------------------------------------------------------

DAY1 = datetime(2026, 10, 5, 9, 30, tzinfo=timezone.utc)
DAY2 = DAY1 + timedelta(days=1)
RANGE = "from=2026-10-05&to=2026-10-07"


def known_data(app) -> None:
    """4 searches (2 found nothing), 3 calls (2 with an article), 2 votes: on two days in October."""
    add_user(app, "voter", "agent")
    with app.app_context():
        session = get_session()
        printer, vpn = store.find_by_slug(session, PRINTER), store.find_by_slug(session, VPN)
        sam, voter = find_user(session, "agent-user"), find_user(session, "voter")
        searches = [("printer offline", 4, DAY1), ("printer offline", 3, DAY1), ("flux capacitor", 0, DAY1)]
        for query, results, at in [*searches, ("flux capacitor", 0, DAY2)]:
            feedback.record_search(  # as the search-log buffer writes them, gap and all
                session, query=query, role=Role.AGENT, results=results, episode=None, source="ui", at=at
            )
        for article, outcome in ((printer, Outcome.SOLVED), (vpn, Outcome.NOT_SOLVED), (None, Outcome.NO_ARTICLE)):
            session.add(Call(user=sam, article=article, outcome=outcome, words="flux", created_at=DAY1))
        session.add(Feedback(article_id=printer.id, user_id=sam.id, helpful=True, created_at=DAY2))
        session.add(Feedback(article_id=vpn.id, user_id=voter.id, helpful=False, created_at=DAY2))
        session.commit()


# The figures `known_data` makes: 2 of 4 searches found nothing, 2 of 3 calls named an article.
KNOWN_FIGURES = {
    "searches": "4",
    "zero-rate": "50.0%",
    "calls": "3",
    "link-rate": "66.7%",
    "solved": "1",
    "partly": "0",
    "not_solved": "1",
    "no_article": "1",
    "helpful": "1",
    "not-helpful": "1",
}


def test_the_dashboard_shows_the_figures_of_known_data_with_charts_and_their_tables(starter_app):
    author = client_for(starter_app, "author")
    client_for(starter_app, "agent")  # agent-user
    known_data(starter_app)
    response = author.get(f"/insights/?{RANGE}")
    assert response.status_code == 200
    page = text_of(response)
    figures = dict(re.findall(r'<dd id="fig-([a-z_-]+)">([^<]*)</dd>', page))
    assert {key: figures.get(key) for key in KNOWN_FIGURES} == KNOWN_FIGURES
    with starter_app.app_context():
        expected = insights.compute(get_session(), insights.range_of("2026-10-05", "2026-10-07"))
    assert (figures["overdue"], figures["backlog"], figures["stale"]) == (
        str(expected.overdue_count),
        str(expected.review_backlog_count),
        str(expected.stale_count),
    )
    assert expected.stale_count > 0 and expected.stale_count == figures_stale(page)

    assert page.count('<svg class="chart" role="img"') == 3
    assert 'aria-label="Searches per day. 4 searches from 2026-10-05 to 2026-10-07"' in page
    per_day = re.findall(
        r'<tr><td>(2026-10-0[5-7])</td><td class="num">(\d+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td></tr>',
        page,
    )
    assert per_day == [("2026-10-05", "3", "1", "3"), ("2026-10-06", "1", "1", "0"), ("2026-10-07", "0", "0", "0")]
    assert '<td>Not solved</td><td class="num">1</td>' in page
    top = re.search(r'id="table-top_queries".*?</section>', page, re.S).group(0)
    assert re.search(r'>flux capacitor</a></td><td class="num">2</td><td class="num">2</td>', top)
    used = re.search(r'id="table-most_used".*?</section>', page, re.S).group(0)
    assert f'href="/articles/{PRINTER}"' in used and f'href="/articles/{VPN}"' in used


def figures_stale(page: str) -> int:
    """The rows of the stale table (capped at 100, so only while fewer)."""
    table = re.search(r'id="table-stale".*?</section>', page, re.S).group(0)
    return table.count("<tr>") - 1


def test_bad_dates_on_the_dashboard_say_what_is_wrong_and_show_the_last_30_days(starter_app):
    author = client_for(starter_app, "author")
    for query, message in (
        ("from=2026-13-01", "'2026-13-01' is not a date like 2026-12-01"),
        ("from=2026-10-09&to=2026-10-01", "is after to"),
        ("from=yesterday", "is not a date"),
    ):
        response = author.get(f"/insights/?{query}")
        assert response.status_code == 400, query
        page = text_of(response)
        assert message in page and 'id="fig-searches"' in page
    assert author.get("/insights/top_queries.csv?from=nope").status_code == 400


CSV_HEADERS = {
    "per_day": "day,searches,zero_result,calls",
    "outcomes": "outcome,calls",
    "recurring": "slug,title,calls,trend,week_1,week_2,week_3,week_4,week_5,week_6,week_7,week_8,"
    "cause,status,owner,link,fixed_at,before,after,resolved_at",
    "top_queries": "query,count,zero_result",
    "top_gaps": "id,label,count,last_seen",
    "most_used": "slug,title,calls,solved,not_solved",
    "helpfulness": "slug,title,helpful,not_helpful",
    "overdue": "slug,title,owner,review_by,updated_at",
    "review_backlog": "slug,title,owner,review_by,updated_at",
    "stale": "slug,title,owner,review_by,updated_at",
}


@pytest.mark.parametrize("with_data", [True, False])
def test_every_table_on_the_dashboard_downloads_as_csv_with_its_header(starter_app, with_data):
    author = client_for(starter_app, "author")
    client_for(starter_app, "agent")
    if with_data:
        known_data(starter_app)
    page = author.get(f"/insights/?{RANGE}").get_data(as_text=True)
    links = dict(re.findall(r'href="(/insights/([a-z_]+)\.csv[^"]*)"', page))
    assert set(links.values()) == set(CSV_HEADERS)
    for url, name in links.items():
        response = author.get(html.unescape(url))
        assert response.status_code == 200, url
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith('attachment; filename="kb-')
        lines = response.get_data(as_text=True).splitlines()
        assert lines[0] == CSV_HEADERS[name], name
        if with_data and name == "per_day":
            assert lines[1:] == ["2026-10-05,3,1,3", "2026-10-06,1,1,0", "2026-10-07,0,0,0"]
        if with_data and name == "outcomes":
            assert lines[1:] == ["solved,1", "partly,0", "not_solved,1", "no_article,1"]
    assert author.get("/insights/nothing.csv").status_code == 404


# --- the recurring problems -----------------------------------------------------------------------


def test_the_recurring_board_ranks_articles_with_weekly_calls_and_the_fix_before_and_after(starter_app):
    author, agent = client_for(starter_app, "author"), client_for(starter_app, "agent")
    with starter_app.app_context():
        session = get_session()
        printer, vpn = store.find_by_slug(session, PRINTER), store.find_by_slug(session, VPN)
        sam = find_user(session, "agent-user")
        ten_days_ago = utcnow() - timedelta(days=10)
        for _ in range(4):
            session.add(Call(user=sam, article=printer, outcome=Outcome.SOLVED, created_at=ten_days_ago))
        session.add(Call(user=sam, article=vpn, outcome=Outcome.SOLVED, created_at=ten_days_ago))
        session.commit()
    send(agent, f"/articles/{VPN}/calls", {"outcome": "partly"})
    send(author, f"/insights/root-fix/{PRINTER}", root_fix_form(status="fixed", resolved="1"))

    page = text_of(author.get("/insights/recurring"))
    rows = re.findall(r'<tr id="article-([a-z0-9-]+)">(.*?)</tr>', page, re.S)
    assert [slug for slug, _ in rows] == [PRINTER, VPN]
    printer_row, vpn_row = rows[0][1], rows[1][1]
    assert '<td class="num">4</td>' in printer_row and '<svg class="chart" role="img"' in printer_row
    assert "0 · 0 · 0 · 0 · 0 · 0 · 4 · 0" in printer_row
    assert "before: 0.5/week, after: 0.0/week" in printer_row and "resolved at the root" in printer_row
    assert "Platform team" in printer_row and "no root fix yet" in vpn_row
    assert re.search(r'class="trend trend-(rising|steady|falling)"', vpn_row)

    dashboard = text_of(author.get("/insights/"))
    assert f'href="/insights/recurring#article-{PRINTER}"' in dashboard
    csv_rows = author.get("/insights/recurring.csv").get_data(as_text=True).splitlines()
    assert (
        csv_rows[1].startswith(f"{PRINTER},") and ",fixed,Platform team,https://tracker.example/PLAT-1," in csv_rows[1]
    )
    assert ",0.5,0.0," in csv_rows[1]


# --- who sees what --------------------------------------------------------------------------------


def test_the_insights_pages_are_for_authors_and_admins(starter_app):
    agent, author, admin = (client_for(starter_app, role) for role in ("agent", "author", "admin"))
    for url in ("/insights/", "/insights/gaps", "/insights/recurring", "/insights/top_queries.csv"):
        assert agent.get(url).status_code == 403, url
        assert author.get(url).status_code == 200, url
        assert admin.get(url).status_code == 200, url
    assert send(agent, "/insights/gaps/1/dismiss", {"reason": "x"}).status_code == 403
    assert 'href="/insights/"' not in agent.get("/").get_data(as_text=True)
    assert re.search(r'<a href="/insights/"[^>]*>Insights</a>', author.get("/").get_data(as_text=True))


# --- the cause categories -------------------------------------------------------------------------


def test_admins_edit_the_cause_categories_on_the_settings_page(starter_app):
    admin, author = client_for(starter_app, "admin"), client_for(starter_app, "author")
    page = text_of(admin.get("/admin/settings"))
    assert re.search(r'<textarea id="f-causes" name="causes"[^>]*>product defect\nconfiguration\n', page)
    saved = send(
        admin, "/admin/settings/causes", {"causes": "Product defect\r\n\r\n  Vendor   outage \r\n", "version": "0"}
    )
    assert saved.status_code == 303 and saved.headers["Location"] == "/admin/settings#causes"
    assert ">Product defect\nVendor outage</textarea>" in text_of(admin.get("/admin/settings"))
    assert '<option value="Vendor outage">Vendor outage</option>' in text_of(author.get(f"/articles/{PRINTER}"))

    twice = send(admin, "/admin/settings/causes", {"causes": "other\nOther", "version": "1"})
    assert twice.status_code == 400
    page = text_of(twice)
    assert "The list lists a category twice." in page and ">other\nOther</textarea>" in page
    assert send(admin, "/admin/settings/causes", {"causes": "", "version": "1"}).status_code == 400
    stale = send(admin, "/admin/settings/causes", {"causes": "one\ntwo", "version": "0"})
    assert stale.status_code == 409 and 'name="version" value="1"' in text_of(stale)
    assert send(author, "/admin/settings/causes", {"causes": "x", "version": "1"}).status_code == 403
    review = send(admin, "/admin/settings", {"review_required": "0", "version": "0"})
    assert review.status_code == 302  # the other setting's form still works beside it
