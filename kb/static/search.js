/* kb's page script: search as you type with a keyboard-first result list, the pasted-message
 * panel, "/" to search from anywhere, and copy buttons on an article's code blocks.
 * Progressive enhancement: without this file the search form submits and the server renders
 * the same results. */
(function () {
  "use strict";

  // "/" focuses a search box from anywhere in kb (unless the agent is typing in a field).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    var target = document.getElementById("kb-q") || document.getElementById("kb-header-q");
    if (!target) return;
    event.preventDefault();
    target.focus();
    target.select();
  });

  function csrfToken() {
    return (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- search as you type -----------------------------------------------------------------
  (function () {
    var form = document.getElementById("kb-search-form");
    var box = document.getElementById("kb-q");
    var region = document.getElementById("kb-results");
    var listbox = document.getElementById("kb-listbox");
    var status = document.getElementById("kb-status");
    if (!form || !box || !region || !listbox) return;

    // A request goes out once typing pauses for DEBOUNCE_MS, and at least every MAX_WAIT_MS while
    // it goes on: the gap between keys at a normal speed is longer than the pause a debounce
    // alone would need, so results follow the typing instead of waiting for it to stop.
    var DEBOUNCE_MS = 90, MAX_WAIT_MS = 150, MIN_CHARS = 2;
    var timer = null, waitingSince = 0;
    // Tickets order the requests: only an answer newer than what is shown is shown.
    var sent = 0, shown = 0, inFlight = {};
    var active = -1;

    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", "kb-listbox");
    listbox.setAttribute("role", "listbox");
    listbox.setAttribute("aria-label", "Articles found");

    function params(typing) {
      var data = new URLSearchParams(new FormData(form));
      if (typing) data.set("typing", "1");
      return data;
    }

    // A new episode id after clearing: the next search is about a new problem.
    function newEpisode() {
      var field = document.getElementById("kb-sid");
      if (!field || !window.crypto || !window.crypto.getRandomValues) return;
      var bytes = new Uint8Array(9);
      window.crypto.getRandomValues(bytes);
      field.value = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }

    function cards() { return region.querySelectorAll(".result"); }
    function options() { return region.querySelectorAll(".result-link"); }

    // The cards hold links and buttons, which a listbox option may not: the title links are the
    // options, and the listbox (outside the cards) owns them, so the cards keep their controls.
    function enhance() {
      var links = options(), ids = [];
      for (var i = 0; i < links.length; i++) {
        if (!links[i].id) links[i].id = "kb-result-" + i;
        links[i].setAttribute("role", "option");
        links[i].setAttribute("aria-selected", "false");
        ids.push(links[i].id);
      }
      listbox.setAttribute("aria-owns", ids.join(" "));
      box.setAttribute("aria-expanded", ids.length ? "true" : "false");
      active = -1;
      box.removeAttribute("aria-activedescendant");
    }

    function announce() {
      if (!status) return;
      var said = region.querySelector("[data-announce]");
      status.textContent = said ? said.getAttribute("data-announce") : "";
    }

    function highlight(index) {
      var links = options(), items = cards();
      if (!links.length) { active = -1; box.removeAttribute("aria-activedescendant"); return; }
      active = Math.max(-1, Math.min(index, links.length - 1));
      for (var i = 0; i < links.length; i++) {
        links[i].setAttribute("aria-selected", i === active ? "true" : "false");
        if (items[i]) items[i].classList.toggle("is-active", i === active);
      }
      if (active >= 0) {
        box.setAttribute("aria-activedescendant", links[active].id);
        (items[active] || links[active]).scrollIntoView({ block: "nearest" });
      } else {
        box.removeAttribute("aria-activedescendant");
      }
    }

    function show(html) {
      region.innerHTML = html;
      enhance();
      announce();
    }

    function cancel(below) {
      for (var ticket in inFlight) {
        if (Number(ticket) < below) { inFlight[ticket].abort(); delete inFlight[ticket]; }
      }
    }

    // Shown without asking the server: nothing to search, or too little yet.
    function showHere(html) {
      shown = ++sent;
      cancel(shown + 1);
      show(html);
    }

    function refresh() {
      var query = box.value.trim();
      var url = form.getAttribute("action") || "/";
      history.replaceState(null, "", query ? url + "?" + params(false).toString() : url);
      if (!query) { showHere(""); return; }
      if (query.length < MIN_CHARS) {
        showHere('<p class="hint keep-typing" data-announce="Keep typing…">Keep typing…</p>');
        return;
      }
      var ticket = ++sent;
      // One older request may go on: while typing goes on it may answer first, and any answer
      // newer than what is shown is worth showing. Anything older is cancelled.
      cancel(ticket - 1);
      var controller = window.AbortController ? new AbortController() : null;
      if (controller) inFlight[ticket] = controller;
      fetch(form.dataset.resultsUrl + "?" + params(true).toString(), {
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      }).then(function (html) {
        delete inFlight[ticket];
        if (html === null || ticket <= shown) return; // a newer answer is already shown
        shown = ticket;
        cancel(ticket);
        show(html);
      }).catch(function () {
        delete inFlight[ticket]; // cancelled, or the network failed: the next key tries again
      });
    }

    function fire() {
      clearTimeout(timer);
      timer = null;
      waitingSince = 0;
      refresh();
    }

    box.addEventListener("input", function () {
      var now = Date.now();
      if (!waitingSince) waitingSince = now;
      clearTimeout(timer);
      timer = setTimeout(fire, Math.max(0, Math.min(DEBOUNCE_MS, waitingSince + MAX_WAIT_MS - now)));
    });

    // Esc starts over: the words, the filters chosen from the facets, and the episode.
    function clearAll() {
      box.value = "";
      var filters = form.querySelectorAll("input[data-filter]");
      for (var i = 0; i < filters.length; i++) filters[i].parentNode.removeChild(filters[i]);
      newEpisode();
      fire();
    }

    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Enter" && active >= 0) {
        var link = options()[active];
        if (link) { event.preventDefault(); window.location.href = link.href; }
      } else if (event.key === "Escape") {
        event.preventDefault();
        clearAll();
      }
    });

    // "Did you mean": search the spelling in place, keeping the filters, without a page load.
    region.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a.suggestion-link") : null;
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      box.value = link.getAttribute("data-suggestion");
      box.focus();
      fire();
    });

    enhance();
  })();

  // --- the customer's pasted message --------------------------------------------------------
  (function () {
    var panel = document.getElementById("kb-suggest");
    var form = document.getElementById("kb-suggest-form");
    var text = document.getElementById("kb-suggest-text");
    var status = document.getElementById("kb-suggest-status");
    var out = document.getElementById("kb-suggest-results");
    if (!panel || !form || !text || !out) return;
    var MAX_CHARS = 20000;
    var latest = 0;
    panel.hidden = false;

    // The passage comes sanitized from kb; only its text and <mark>s are kept all the same.
    function passage(html) {
      var holder = element("div");
      var parsed = new DOMParser().parseFromString("<body>" + (html || ""), "text/html").body;
      (function copy(from, to) {
        for (var node = from.firstChild; node; node = node.nextSibling) {
          if (node.nodeType === 3) to.appendChild(document.createTextNode(node.nodeValue));
          else if (node.nodeType === 1) copy(node, node.tagName === "MARK" ? to.appendChild(element("mark")) : to);
        }
      })(parsed, holder);
      holder.className = "passage-text";
      return holder;
    }

    function why(result) {
      var parts = [], reasons = result.why || {};
      if (reasons.matched && reasons.matched.length) parts.push("Matched: " + reasons.matched.join(", "));
      if (reasons.similar_meaning) parts.push("Similar meaning");
      return parts.length ? element("p", "why", parts.join(" · ")) : null;
    }

    function card(result) {
      var item = element("li", "result" + (result.weak ? " is-weak" : ""));
      var anchor = result.passage && result.passage.anchor ? "#" + result.passage.anchor : "";
      var link = element("a", "result-link", result.title);
      link.href = (result.url || "").split("#")[0] + anchor;
      item.appendChild(link);
      if (result.summary) item.appendChild(element("p", "summary", result.summary));
      if (result.passage) {
        var quote = element("div", "passage");
        if (result.passage.heading) quote.appendChild(element("p", "section", result.passage.heading));
        quote.appendChild(passage(result.passage.html));
        item.appendChild(quote);
      }
      var reason = why(result);
      if (reason) item.appendChild(reason);
      return item;
    }

    function render(results) {
      out.textContent = "";
      var list = null, weakShown = false;
      var strong = results.filter(function (r) { return !r.weak; }).length;
      for (var i = 0; i < results.length; i++) {
        if (results[i].weak && !weakShown) {
          weakShown = true;
          out.appendChild(element("h2", "weak-cut", "Weaker matches"));
          list = null;
        }
        if (!list) list = out.appendChild(element("ol", "results"));
        list.appendChild(card(results[i]));
      }
      if (!results.length) return "No article matches this message.";
      var said = strong ? strong + " article" + (strong === 1 ? "" : "s") : "No close match";
      return results.length > strong ? said + ", " + (results.length - strong) + " weaker" : said;
    }

    function failure(body, response) {
      var error = body && body.error;
      if (error && typeof error === "object" && error.message) return error.message;
      if (body && body.message) return body.message;
      return "kb could not read the message (" + response.status + ").";
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var message = text.value;
      if (!message.trim()) { status.textContent = "Paste the customer's message first."; text.focus(); return; }
      if (message.length > MAX_CHARS) { status.textContent = "The message is longer than 20,000 characters."; return; }
      var ticket = ++latest;
      status.textContent = "Looking…";
      fetch(panel.getAttribute("data-suggest-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ text: message })
      }).then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.json().catch(function () { return null; }).then(function (body) {
          return { response: response, body: body };
        });
      }).then(function (answer) {
        if (!answer || ticket !== latest) return;
        if (!answer.response.ok || !answer.body) { status.textContent = failure(answer.body, answer.response); return; }
        status.textContent = render(answer.body.results || []);
      }).catch(function () {
        if (ticket === latest) status.textContent = "kb could not be reached. Try again.";
      });
    });
  })();

  // --- copy buttons on an article's code blocks ---------------------------------------------
  (function () {
    var blocks = document.querySelectorAll(".prose pre > code");
    if (!blocks.length) return;

    // The clipboard API needs a secure, focused page; the old copy command is the fallback.
    function copyByCommand(value) {
      var focused = document.activeElement;
      var scratch = element("textarea", "visually-hidden");
      scratch.value = value;
      scratch.setAttribute("readonly", "");
      document.body.appendChild(scratch);
      scratch.select();
      var done = false;
      try { done = document.execCommand("copy"); } catch (e) { done = false; }
      document.body.removeChild(scratch);
      if (focused && focused.focus) focused.focus();
      return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
    }

    function copyText(value) {
      if (!navigator.clipboard || !navigator.clipboard.writeText) return copyByCommand(value);
      return navigator.clipboard.writeText(value).catch(function () { return copyByCommand(value); });
    }

    // A block wider than the screen scrolls sideways: then the keyboard must be able to reach it.
    function scrollable(pre) {
      if (pre.scrollWidth > pre.clientWidth) pre.setAttribute("tabindex", "0");
      else pre.removeAttribute("tabindex");
    }
    var resizing = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizing);
      resizing = setTimeout(function () {
        Array.prototype.forEach.call(blocks, function (code) { scrollable(code.parentNode); });
      }, 200);
    });

    Array.prototype.forEach.call(blocks, function (code, index) {
      var pre = code.parentNode;
      var wrap = element("div", "code-block");
      pre.parentNode.insertBefore(wrap, pre);
      wrap.appendChild(pre);
      var bar = element("div", "code-tools");
      var button = element("button", "secondary copy-code", "Copy");
      button.type = "button";
      button.setAttribute("aria-label", "Copy code block " + (index + 1));
      var said = element("span", "copy-status");
      said.setAttribute("role", "status");
      bar.appendChild(button);
      bar.appendChild(said);
      wrap.insertBefore(bar, pre);
      scrollable(pre);
      var reset = null;
      button.addEventListener("click", function () {
        copyText(code.textContent).then(function () {
          said.textContent = "Copied";
        }, function () {
          said.textContent = "Could not copy: select the text and press Ctrl+C";
        });
        clearTimeout(reset);
        reset = setTimeout(function () { said.textContent = ""; }, 4000);
      });
    });
  })();
})();
