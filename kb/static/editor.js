/* The article editor: live preview with the content checks, keyboard saving, a warning before
 * leaving with unsaved changes, and a copy of the text kept in this browser until it is saved.
 * Progressive enhancement: without this file the form saves as before and nothing is lost on the
 * server side (a stale save comes back with the author's text and what others changed). */
(function () {
  "use strict";
  var form = document.getElementById("kb-editor");
  var body = document.getElementById("f-body");
  if (!form || !body) return;
  var pane = document.getElementById("kb-preview-pane");
  var preview = document.getElementById("kb-preview");
  var checksBox = document.getElementById("kb-preview-checks");
  var toggle = document.getElementById("kb-preview-toggle");
  var notice = document.getElementById("kb-local-draft");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var draftKey = form.getAttribute("data-draft-key");
  var PREVIEW_MS = 350, DRAFT_MS = 800;
  var saved = snapshot(), submitting = false, previewTimer = null, draftTimer = null, latest = 0;

  function snapshot() {
    return Array.prototype.map.call(form.querySelectorAll("input[name], textarea[name], select[name]"), function (el) {
      if (el.name === "csrf_token") return "";
      return el.name + "=" + (el.type === "checkbox" ? el.checked : el.value);
    }).join("\n");
  }
  function dirty() { return !submitting && snapshot() !== saved; }

  // --- unsaved changes -------------------------------------------------------------------
  window.addEventListener("beforeunload", function (event) {
    if (!dirty()) return;
    event.preventDefault();
    event.returnValue = "";
  });
  form.addEventListener("submit", function () {
    keepDraft();  // what was sent: if the save fails on the way, the text is still here
    submitting = true;
  });

  // --- a copy of the text in this browser ------------------------------------------------
  function storage() { try { return window.localStorage; } catch (e) { return null; } }
  function keepDraft() {
    var store = storage();
    if (!store || !draftKey) return;
    try {
      if (dirty()) store.setItem(draftKey, JSON.stringify({ body: body.value, at: new Date().toISOString() }));
    } catch (e) { /* full or disabled: the warning before leaving still protects the text */ }
  }
  function offerDraft() {
    var store = storage(), kept = null;
    if (!store || !draftKey || !notice) return;
    try { kept = JSON.parse(store.getItem(draftKey) || "null"); } catch (e) { kept = null; }
    if (!kept || typeof kept.body !== "string") return;
    if (kept.body === body.value) { store.removeItem(draftKey); return; }
    notice.textContent = "This browser kept unsaved text of this article from " +
      kept.at.replace("T", " ").slice(0, 16) + " UTC. ";
    var restore = document.createElement("button");
    restore.type = "button";
    restore.textContent = "Put it back in the editor";
    restore.addEventListener("click", function () {
      body.value = kept.body;
      notice.hidden = true;
      schedulePreview();
      body.focus();
    });
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "secondary";
    discard.textContent = "Discard it";
    discard.addEventListener("click", function () { store.removeItem(draftKey); notice.hidden = true; });
    notice.appendChild(restore);
    notice.appendChild(document.createTextNode(" "));
    notice.appendChild(discard);
    notice.hidden = false;
  }

  // --- live preview ---------------------------------------------------------------------
  function showChecks(checks) {
    checksBox.textContent = "";
    var head = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = "Content checks: " + checks.score + "/100";
    head.appendChild(strong);
    head.appendChild(document.createTextNode(checks.findings.length ? " (guidance only; saving is never blocked):" : ": nothing to suggest."));
    checksBox.appendChild(head);
    if (!checks.findings.length) return;
    var list = document.createElement("ul");
    checks.findings.forEach(function (finding) {
      var item = document.createElement("li");
      item.className = "check-" + finding.code;
      item.textContent = finding.message;
      list.appendChild(item);
    });
    checksBox.appendChild(list);
  }
  function refreshPreview() {
    if (!pane || pane.hidden) return;
    var ticket = ++latest;
    var status = document.getElementById("f-status");
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify({ markdown: body.value, status: status ? status.value : "draft" })
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      if (ticket !== latest) return;  // a newer preview is on its way
      if (!answer.ok) { preview.textContent = answer.data.message || "The preview failed."; return; }
      preview.innerHTML = answer.data.html;  // sanitized by kb's renderer, as on the article page
      showChecks(answer.data.checks);
    }).catch(function () {
      if (ticket === latest) preview.textContent = "The preview is not available (kb could not be reached).";
    });
  }
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreview, PREVIEW_MS);
  }
  function togglePreview() {
    if (!pane) return;
    pane.hidden = !pane.hidden;
    form.classList.toggle("with-preview", !pane.hidden);
    if (toggle) toggle.setAttribute("aria-expanded", String(!pane.hidden));
    if (!pane.hidden) refreshPreview();
  }

  body.addEventListener("input", function () {
    schedulePreview();
    clearTimeout(draftTimer);
    draftTimer = setTimeout(keepDraft, DRAFT_MS);
  });
  form.addEventListener("input", function (event) {
    if (event.target !== body) { clearTimeout(draftTimer); draftTimer = setTimeout(keepDraft, DRAFT_MS); }
  });
  if (toggle) { toggle.hidden = false; toggle.addEventListener("click", togglePreview); }
  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    if (event.key === "s" || event.key === "S") {
      event.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    } else if (event.key === "Enter") {
      event.preventDefault();
      togglePreview();
    }
  });
  offerDraft();
})();
