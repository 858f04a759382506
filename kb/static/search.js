/* Search as you type, and a keyboard-first result list.
 * Progressive enhancement: without this file the search form submits and the server renders
 * the same results. Stale responses are dropped, so fast typing never shows older results. */
(function () {
  "use strict";
  var form = document.getElementById("kb-search-form");
  var box = document.getElementById("kb-q");
  var region = document.getElementById("kb-results");
  var DEBOUNCE_MS = 120;
  var timer = null, latest = 0, controller = null, active = -1;

  // "/" focuses a search box from anywhere in kb (unless the agent is typing in a field).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    var target = box || document.getElementById("kb-header-q");
    if (!target) return;
    event.preventDefault();
    target.focus();
    target.select();
  });
  if (!form || !box || !region) return;

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

  function results() { return region.querySelectorAll(".result"); }

  function highlight(index) {
    var items = results();
    if (!items.length) { active = -1; box.removeAttribute("aria-activedescendant"); return; }
    active = Math.max(-1, Math.min(index, items.length - 1));
    for (var i = 0; i < items.length; i++) {
      items[i].id = "kb-result-" + i;
      items[i].classList.toggle("is-active", i === active);
      items[i].setAttribute("aria-selected", i === active ? "true" : "false");
    }
    if (active >= 0) {
      box.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    } else {
      box.removeAttribute("aria-activedescendant");
    }
  }

  function refresh() {
    var query = box.value;
    var url = form.getAttribute("action") || "/";
    var shown = params(false);
    shown.delete("typing");
    history.replaceState(null, "", query.trim() ? url + "?" + shown.toString() : url);
    if (!query.trim()) { region.innerHTML = ""; active = -1; return; }
    var ticket = ++latest;
    if (controller) controller.abort();
    controller = window.AbortController ? new AbortController() : null;
    fetch(form.dataset.resultsUrl + "?" + params(true).toString(), {
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.status === 401) { window.location.reload(); return null; }
      return response.text();
    }).then(function (html) {
      if (html === null || ticket !== latest) return; // a newer keystroke won
      region.innerHTML = html;
      highlight(-1);
    }).catch(function (error) {
      if (error && error.name === "AbortError") return;
    });
  }

  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
  });

  box.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
    else if (event.key === "Enter" && active >= 0) {
      var link = results()[active].querySelector("a.result-link");
      if (link) { event.preventDefault(); window.location.href = link.href; }
    } else if (event.key === "Escape") {
      event.preventDefault();
      box.value = "";
      newEpisode();
      clearTimeout(timer);
      refresh();
    }
  });
})();
