"""The agent's search screen and article pages as a browser shows them: typing speed, stale
answers, Esc, "did you mean", weak matches, the ARIA combobox, the outline, phone width, copy
buttons and the pasted-message panel.

Runs in the headless Chromium of test_browser.py (skipped, with the reason, where it is missing).
"""

from __future__ import annotations

import time
import urllib.parse

import pytest
import test_browser
from kbserver import admin_token, call

pytestmark = pytest.mark.browser

# One headless Chromium and one `kb serve` for this module, made as test_browser.py makes its own.
chromium = test_browser.chromium
server = test_browser.server
wait = test_browser.wait

PHONE_WIDTH = 390

# An article with everything that used to push a phone's page sideways.
WIDE_BODY = """## What the customer notices

"The export log says https://files.example.com/exports/2026/very/long/path/that/never/breaks/anywhere/at/all.csv"

## Resolution

| Setting | Where | Default | Recommended | Why | Notes | Since version |
|---|---|---|---|---|---|---|
| ExportFolderLocationOverride | HKLM\\Software\\Contoso\\Exporter\\Settings | %APPDATA%\\Contoso | \\\\fileserver\\exports | roaming profiles | restart needed | 12.4 |

```powershell
Get-ChildItem -Path "\\\\fileserver\\exports\\2026" -Recurse | Where-Object { $_.Length -gt 10MB } | Sort-Object Length
```

Averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryverylongwordwithoutanyspaceatall.
"""


@pytest.fixture(scope="module")
def signed_in(chromium, server):
    """The browser logged in as the admin, once for the module (logging in is rate-limited)."""
    test_browser.sign_in(chromium, server)
    # A first search warms the engine up, so the timing tests measure typing, not a cold start.
    chromium.get(server.url + "?q=printer+offline")
    return chromium


@pytest.fixture
def browser(signed_in, server):
    """The logged-in browser on a freshly loaded search page."""
    from selenium.webdriver.common.by import By

    signed_in.get(server.url)
    wait(signed_in, lambda d: d.find_elements(By.ID, "kb-q"), timeout=30)
    return signed_in


@pytest.fixture(scope="module")
def token(server):
    return admin_token(server.folder, server.env)


@pytest.fixture(scope="module")
def wide_article(server, token):
    """A published article with a wide table, a long URL and word, and a code block; saved twice,
    so its history has a diff to show."""
    status, body = call(
        server.url, token, "articles", {"title": "Export log path too long", "body": WIDE_BODY, "status": "published"}
    )
    assert status == 201, body
    slug = body["article"]["slug"]
    status, current = call(server.url, token, f"articles/{slug}")
    changed = {
        "body": WIDE_BODY.replace("restart needed", "restart the exporter service"),
        "version": current["version"],
    }
    status, body = call(server.url, token, f"articles/{slug}", changed, "PUT")
    assert status == 200, body
    return slug


@pytest.fixture
def phone(browser):
    """The browser as a 390 px wide phone, for one test."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 3, "mobile": True},
    )
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def result_slugs(driver) -> list[str]:
    """The slugs of the results shown, read in one go (the list is replaced as answers come)."""
    return driver.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('#kb-results a.result-link'),"
        " function (a) { return a.pathname.split('/').pop(); });"
    )


# --- 1. results while typing, and never an older answer over a newer one -------------------------

RECORD_FIRST_RESULTS = """
window.kbFirstShown = null;
var box = document.getElementById('kb-q');
new MutationObserver(function () {
  if (window.kbFirstShown === null && document.querySelector('#kb-results .result')) window.kbFirstShown = box.value;
}).observe(document.getElementById('kb-results'), {childList: true, subtree: true});
"""


def test_results_appear_while_the_agent_is_still_typing(browser):
    from selenium.webdriver.common.action_chains import ActionChains

    words = "printer shows offline after the weekend"
    browser.execute_script(RECORD_FIRST_RESULTS)
    typing = ActionChains(browser)
    for key in words:
        typing.send_keys(key).pause(0.08)  # a steady typist: a key every 80 ms, never a pause
    typing.perform()
    first_shown = browser.execute_script("return window.kbFirstShown")
    assert first_shown, "no result showed during 3 s of typing"
    assert len(first_shown) < len(words), f"results waited for the typing to stop ({first_shown!r})"
    wait(browser, lambda d: "printer-shows-offline" in result_slugs(d)[:1])


# Answers for "printer" come back late (and whatever the page cancels still answers): a late answer
# for an older query must never replace the newer one on screen.
DELAY_PRINTER_ANSWERS = """
var realFetch = window.fetch;
window.kbSignals = [];
window.fetch = function (url, options) {
  var slow = String(url).indexOf('q=printer') >= 0;
  if (slow) window.kbSignals.push(options.signal);
  var plain = {headers: options.headers, credentials: options.credentials};
  return realFetch(url, plain).then(function (response) {
    return response.text().then(function (text) {
      return new Promise(function (resolve) {
        setTimeout(function () { resolve(new Response(text, {status: response.status})); }, slow ? 1500 : 0);
      });
    });
  });
};
"""


def test_a_late_answer_for_an_older_query_is_dropped(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.execute_script(DELAY_PRINTER_ANSWERS)
    box = browser.find_element(By.ID, "kb-q")
    box.send_keys("printer")
    wait(browser, lambda d: d.execute_script("return window.kbSignals.length"))
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("vpn")
    wait(browser, lambda d: "vpn-will-not-connect" in result_slugs(d)[:2])
    shown = result_slugs(browser)
    assert browser.execute_script("return window.kbSignals.every(function (s) { return s.aborted; })"), (
        "the older request was not cancelled once a newer answer showed"
    )
    time.sleep(2)  # the "printer" answers have arrived by now
    assert result_slugs(browser) == shown, "a late answer for an older query replaced the newer one"


# --- 2 to 4: Esc, did you mean, one letter --------------------------------------------------------


def test_esc_clears_the_filters_too(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server.url + "?q=printer&product=Printers")
    assert browser.find_elements(By.CSS_SELECTOR, '#kb-search-form input[name="product"]')
    box = browser.find_element(By.ID, "kb-q")
    box.send_keys(Keys.ESCAPE)
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".result"))
    assert not browser.find_elements(By.CSS_SELECTOR, '#kb-search-form input[name="product"]')
    box.send_keys("vpn will not connect")
    wait(browser, lambda d: "vpn-will-not-connect" in result_slugs(d))
    assert "product" not in browser.current_url


def test_did_you_mean_keeps_the_filters(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "?q=prnter&product=Printers")
    link = browser.find_element(By.CSS_SELECTOR, ".suggestion a")
    target = urllib.parse.parse_qs(urllib.parse.urlsplit(link.get_attribute("href")).query)
    assert target["q"] == ["printer"] and target["product"] == ["Printers"]
    link.click()  # search.js searches the spelling in place
    wait(browser, lambda d: d.find_element(By.ID, "kb-q").get_attribute("value") == "printer")
    wait(browser, lambda d: "printer-shows-offline" in result_slugs(d) and "product=Printers" in d.current_url)
    assert browser.find_element(By.ID, "kb-q") == browser.switch_to.active_element


def test_one_letter_says_keep_typing(browser, server):
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, "kb-q").send_keys("p")
    wait(browser, lambda d: "Keep typing" in d.find_element(By.ID, "kb-results").text)
    assert "No article matches" not in browser.find_element(By.ID, "kb-results").text
    browser.get(server.url + "?q=p")  # the page without the script says the same
    text = browser.find_element(By.ID, "kb-results").text
    assert "Keep typing" in text and "No article matches" not in text


# --- 5. weak matches ----------------------------------------------------------------------------

WEAK_QUERY = "printer offline"


def assert_weak_hits_are_cut_off(driver, expected_weak: list[bool]) -> None:
    from selenium.webdriver.common.by import By

    cards = driver.find_elements(By.CSS_SELECTOR, "#kb-results .result")
    assert ["is-weak" in card.get_attribute("class") for card in cards] == expected_weak
    cut = driver.find_element(By.CSS_SELECTOR, "#kb-results .weak-cut")
    assert "Weaker matches" in cut.get_attribute("textContent")
    first_weak = cards[expected_weak.index(True)]
    assert driver.execute_script(
        "return !!(arguments[0].compareDocumentPosition(arguments[1]) & Node.DOCUMENT_POSITION_FOLLOWING)",
        cut,
        first_weak,
    ), "the cut comes before the first weak match"
    count = driver.find_element(By.CSS_SELECTOR, "#kb-results .count").text
    confident = expected_weak.count(False)
    assert count.startswith(f"{confident} result" if confident else "No close match"), count


def test_weak_matches_come_after_a_visible_cut(browser, server, token):
    from selenium.webdriver.common.by import By

    status, body = call(server.url, token, "search?" + urllib.parse.urlencode({"q": WEAK_QUERY}))
    assert status == 200
    expected = [bool(r.get("weak")) for r in body["results"]]
    if True not in expected:
        pytest.skip(f"the engine marks none of the results for {WEAK_QUERY!r} weak")
    browser.find_element(By.ID, "kb-q").send_keys(WEAK_QUERY)  # rendered for the script
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#kb-results .weak-cut"))
    assert_weak_hits_are_cut_off(browser, expected)
    browser.get(server.url + "?" + urllib.parse.urlencode({"q": WEAK_QUERY}))  # and by the page
    assert_weak_hits_are_cut_off(browser, expected)


# --- 6. accessibility ---------------------------------------------------------------------------

COMBOBOX_STATE = """
var box = document.getElementById('kb-q'), list = document.getElementById(box.getAttribute('aria-controls'));
var owned = (list && list.getAttribute('aria-owns') || '').split(' ').filter(Boolean);
return {
  role: box.getAttribute('role'), expanded: box.getAttribute('aria-expanded'),
  active: box.getAttribute('aria-activedescendant'), listRole: list && list.getAttribute('role'),
  owned: owned.map(function (id) { var o = document.getElementById(id); return o && o.getAttribute('role'); }),
  ownedIds: owned,
  selected: Array.prototype.map.call(document.querySelectorAll('[aria-selected]'), function (e) {
    return [e.getAttribute('role'), e.getAttribute('aria-selected')];
  }),
  focusableInOptions: document.querySelectorAll('[role=option] a, [role=option] button, [role=option] input').length
};
"""


def test_the_search_box_and_results_are_an_aria_combobox(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = browser.find_element(By.ID, "kb-q")
    state = browser.execute_script(COMBOBOX_STATE)
    assert state["role"] == "combobox" and state["expanded"] == "false" and state["listRole"] == "listbox"
    box.send_keys("printer")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".result"))
    state = browser.execute_script(COMBOBOX_STATE)
    cards = browser.find_elements(By.CSS_SELECTOR, ".result")
    assert state["expanded"] == "true" and state["active"] is None
    assert state["owned"] == ["option"] * len(cards), "every result is an option of the listbox"
    assert state["focusableInOptions"] == 0, "an option holds no link or button of its own"
    box.send_keys(Keys.ARROW_DOWN)
    state = browser.execute_script(COMBOBOX_STATE)
    assert state["active"] == state["ownedIds"][0]
    assert state["selected"] == [["option", "true"]] + [["option", "false"]] * (len(cards) - 1)
    status = browser.find_element(By.ID, "kb-status")
    assert status.get_attribute("role") == "status" and "result" in status.get_attribute("textContent")


def test_heading_links_are_named_and_the_outline_is_a_few_keys_away(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server.url + "articles/printer-shows-offline")
    anchors = browser.find_elements(By.CSS_SELECTOR, ".prose a.anchor")
    assert anchors
    for anchor in anchors:
        heading = anchor.find_element(By.XPATH, "..").text.rstrip("#").strip()
        assert anchor.get_attribute("aria-label") == f"Link to section {heading}"

    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    presses = 1
    while "Skip to the outline" not in browser.switch_to.active_element.text and presses < 5:
        browser.switch_to.active_element.send_keys(Keys.TAB)
        presses += 1
    assert "Skip to the outline" in browser.switch_to.active_element.text, "no skip link to the outline"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    browser.switch_to.active_element.send_keys(Keys.TAB)
    presses += 2
    focused = browser.switch_to.active_element
    assert focused.get_attribute("href").endswith("#what-the-customer-notices")
    assert browser.execute_script("return !!arguments[0].closest('nav.outline')", focused)
    assert presses <= 4


# --- 7. phone width -----------------------------------------------------------------------------


def test_article_and_author_pages_fit_a_phone(phone, server, wide_article):
    pages = [
        f"articles/{wide_article}",
        "articles/printer-shows-offline",
        "?q=printer+offline",
        "author/articles",
        f"author/articles/{wide_article}/edit",
        f"author/articles/{wide_article}/revisions",
        f"author/articles/{wide_article}/revisions/1",
        f"author/articles/{wide_article}/diff?from=1&to=2",
        "author/articles/new",
    ]
    too_wide = {}
    for page in pages:
        phone.get(server.url + page)
        width = phone.execute_script("return document.documentElement.scrollWidth")
        if width > PHONE_WIDTH:
            too_wide[page] = width
    assert not too_wide, f"pages wider than a {PHONE_WIDTH} px phone: {too_wide}"


# --- 8. copy buttons ----------------------------------------------------------------------------


def test_code_blocks_have_a_copy_button(browser, server, wide_article):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    origin = server.url.rstrip("/")
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    browser.get(server.url + f"articles/{wide_article}")
    buttons = browser.find_elements(By.CSS_SELECTOR, ".prose .copy-code")
    assert len(buttons) == 1 and buttons[0].text == "Copy"
    browser.execute_script("arguments[0].focus()", buttons[0])
    assert browser.switch_to.active_element == buttons[0], "the copy button takes the keyboard focus"
    status = browser.find_element(By.CSS_SELECTOR, ".prose .copy-status")
    assert status.get_attribute("role") == "status" and status.text == ""
    buttons[0].send_keys(Keys.ENTER)
    wait(browser, lambda d: status.text)
    assert status.text == "Copied"
    copied = browser.execute_async_script(
        "var done = arguments[0]; navigator.clipboard.readText().then(done, function () { done(null); });"
    )
    if copied is not None:  # reading the clipboard back is allowed here
        assert copied.startswith("Get-ChildItem -Path")


# --- 9. the customer's pasted message -----------------------------------------------------------

MESSAGE = (
    "Hi, since this morning my printer says it is offline although it is switched on and sits right "
    "next to me. Word just says the printer is offline and nothing comes out. Can you help?"
)


def test_a_pasted_message_finds_articles_with_the_passage_and_why(browser, server, token):
    from selenium.webdriver.common.by import By

    status, _ = call(server.url, token, "suggest", {"text": MESSAGE})
    if status == 404:
        pytest.skip("POST /api/v1/suggest is not there yet")
    panel = browser.find_element(By.ID, "kb-suggest")
    assert panel.is_displayed()
    panel.find_element(By.TAG_NAME, "summary").click()
    text = browser.find_element(By.ID, "kb-suggest-text")
    assert text.get_attribute("maxlength") == "20000"
    button = panel.find_element(By.CSS_SELECTOR, "button[type=submit]")
    button.click()
    said = browser.find_element(By.ID, "kb-suggest-status")
    wait(browser, lambda d: "first" in said.text)  # nothing pasted: said so, nothing sent

    browser.execute_script("arguments[0].value = arguments[1]", text, MESSAGE)
    button.click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#kb-suggest-results .result-link"))
    first = browser.find_element(By.CSS_SELECTOR, "#kb-suggest-results .result")
    link = first.find_element(By.CSS_SELECTOR, "a.result-link")
    assert "/articles/printer-shows-offline" in link.get_attribute("href")
    assert first.find_element(By.CSS_SELECTOR, ".passage").text
    why = first.find_element(By.CSS_SELECTOR, ".why").text
    assert "Matched: " in why or "Similar meaning" in why
    if "Matched: " in why:
        assert "printer" in why.lower()
    assert said.text and "Looking" not in said.text
