/* The reading-path editor's steps: "Move up" / "Move down" move a step in the page and keep the
 * focus on the pressed button, a step can be dragged by its handle, "Add step" and "Remove" work
 * in place, and each change is announced in the status line (an aria-live region). Nothing is
 * saved until Save: the steps are sent in page order (kb.views.pathform), so moving an element is
 * all a reorder takes. Progressive enhancement: without this file the same buttons submit the
 * form and the server answers with the steps rearranged, still unsaved. */
(function () {
  "use strict";
  var form = document.getElementById("kb-path-editor");
  var list = document.getElementById("f-steps");
  var news = document.getElementById("kb-step-news");
  var template = document.getElementById("kb-step-template");
  var addButton = document.getElementById("add-step");
  var choices = document.getElementById("kb-articles");
  if (!form || !list || !news) return;
  var changed = form.hasAttribute("data-unsaved"), submitting = false, dragged = null;

  function steps() { return Array.prototype.slice.call(list.querySelectorAll(":scope > .path-step")); }
  function say(text) { news.textContent = text; }
  function articleOf(step) {
    var value = step.querySelector('input[name="article"]').value.trim();
    return value || "no article yet";
  }

  // Ids, labels and the no-JavaScript button values follow each step's place in the list.
  function renumber() {
    steps().forEach(function (step, index) {
      var n = String(index + 1);
      step.id = "step-" + n;
      step.querySelectorAll("[data-n]").forEach(function (el) { el.textContent = n; });
      ["article", "note", "question"].forEach(function (name) {
        var field = step.querySelector('[name="' + name + '"]');
        if (field) field.id = "step-" + n + "-" + name;
      });
      step.querySelectorAll("button[data-move]").forEach(function (button) {
        var way = button.getAttribute("data-move");
        button.id = "move-" + way + "-" + n;
        button.value = way + ":" + n;
      });
      var remove = step.querySelector("button[data-remove]");
      if (remove) { remove.id = "remove-" + n; remove.value = n; }
      var handle = step.querySelector(".drag-handle");
      if (handle) handle.hidden = false;
    });
  }

  function placeOf(step) { return steps().indexOf(step) + 1; }
  function moved(step, from) {
    changed = true;
    renumber();
    say("Step " + from + " (" + articleOf(step) + ") moved: it is now step " + placeOf(step) +
        " of " + steps().length + ". Not saved yet.");
  }

  // --- the buttons ------------------------------------------------------------------------
  function moveByButton(button) {
    var step = button.closest(".path-step"), all = steps();
    var from = all.indexOf(step), way = button.getAttribute("data-move");
    var to = way === "up" ? from - 1 : from + 1;
    if (to < 0 || to >= all.length) {
      say("Step " + (from + 1) + " is already the " + (way === "up" ? "first" : "last") + " step.");
      return;
    }
    list.insertBefore(step, way === "up" ? all[to] : all[to].nextSibling);
    button.focus();  // moving the element took the focus away from it
    moved(step, from + 1);
  }

  function removeStep(button) {
    var step = button.closest(".path-step"), place = placeOf(step), what = articleOf(step);
    step.parentNode.removeChild(step);
    changed = true;
    renumber();
    var next = steps()[place - 1];
    (next ? next.querySelector('input[name="article"]') : addButton).focus();
    say("Step " + place + " (" + what + ") removed. Not saved yet.");
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button") : null;
    if (!button || !list.contains(button)) return;
    if (button.hasAttribute("data-move")) {
      event.preventDefault();
      moveByButton(button);
    } else if (button.hasAttribute("data-remove")) {
      event.preventDefault();
      removeStep(button);
    }
  });

  if (addButton && template) {
    addButton.addEventListener("click", function (event) {
      event.preventDefault();
      var step = template.content.querySelector(".path-step").cloneNode(true);
      list.appendChild(step);
      changed = true;
      renumber();
      step.querySelector('input[name="article"]').focus();
      say("Step " + steps().length + " added at the end: choose its article. Not saved yet.");
    });
  }

  // A step's heading shows the title of the article its slug names, as the server's page does.
  list.addEventListener("change", function (event) {
    if (event.target.name !== "article" || !choices) return;
    var slug = event.target.value.trim(), title = "";
    Array.prototype.some.call(choices.options, function (option) {
      if (option.value === slug) { title = option.textContent; return true; }
      return false;
    });
    var shown = event.target.closest(".path-step").querySelector(".step-title");
    if (shown) shown.textContent = title ? ": " + title : "";
  });

  // With many articles the page lists none: the picker offers the search's best matches as one types.
  var asked = 0, pause = null;
  function offer(found) {
    choices.textContent = "";
    found.forEach(function (hit) {
      var option = document.createElement("option");
      option.value = hit.slug;
      option.textContent = hit.title;
      choices.appendChild(option);
    });
  }
  if (choices && choices.hasAttribute("data-search")) {
    list.addEventListener("input", function (event) {
      if (event.target.name !== "article") return;
      var words = event.target.value.trim();
      clearTimeout(pause);
      if (words.length < 2) return;
      pause = setTimeout(function () {
        var mine = ++asked;
        var url = choices.getAttribute("data-search") + "?limit=8&typing=1&q=" + encodeURIComponent(words);
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (page) { if (mine === asked) offer(page.results || []); })
          .catch(function () { /* the slug can still be typed whole */ });
      }, 150);
    });
  }

  // --- drag and drop, by the handle -------------------------------------------------------
  function clearMarks() {
    steps().forEach(function (step) { step.classList.remove("is-dragged", "drop-before", "drop-after"); });
  }
  function dropsAfter(step, event) {
    var box = step.getBoundingClientRect();
    return event.clientY > box.top + box.height / 2;
  }
  function stepUnder(event) {
    var step = event.target.closest ? event.target.closest(".path-step") : null;
    return step && list.contains(step) ? step : null;
  }

  list.addEventListener("dragstart", function (event) {
    var handle = event.target.closest ? event.target.closest(".drag-handle") : null;
    if (!handle) return;
    dragged = handle.closest(".path-step");
    dragged.classList.add("is-dragged");
    if (event.dataTransfer) {
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", articleOf(dragged));
      if (event.dataTransfer.setDragImage) event.dataTransfer.setDragImage(dragged, 16, 16);
    }
  });
  list.addEventListener("dragover", function (event) {
    var over = dragged && stepUnder(event);
    if (!over) return;
    event.preventDefault();  // this is a place to drop
    if (event.dataTransfer) event.dataTransfer.dropEffect = "move";
    clearMarks();
    dragged.classList.add("is-dragged");
    if (over !== dragged) over.classList.add(dropsAfter(over, event) ? "drop-after" : "drop-before");
  });
  list.addEventListener("drop", function (event) {
    var over = dragged && stepUnder(event);
    if (!over) return;
    event.preventDefault();
    var step = dragged, from = placeOf(step);
    if (over !== step) {
      list.insertBefore(step, dropsAfter(over, event) ? over.nextSibling : over);
      if (placeOf(step) !== from) moved(step, from);
    }
    clearMarks();
    dragged = null;
  });
  list.addEventListener("dragend", function () { clearMarks(); dragged = null; });

  // --- leaving with unsaved changes -------------------------------------------------------
  form.addEventListener("input", function () { changed = true; });
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("beforeunload", function (event) {
    if (!changed || submitting) return;
    event.preventDefault();
    event.returnValue = "";
  });

  renumber();
})();
