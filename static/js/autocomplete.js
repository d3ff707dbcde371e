// Autocomplete for the place box: places, methods and conditions as you type.
// Progressive enhancement: without this script the box is a plain text field and search works the same.
// Follows the WAI-ARIA 1.2 combobox pattern (list autocomplete, aria-activedescendant).
(function () {
  "use strict";

  var DELAY_MS = 150;
  var KIND_LABEL = { place: "Place", method: "Method", condition: "Condition" };

  function setUp(box) {
    var input = box.querySelector("input");
    if (!input) { return; }
    var form = input.form;
    var listId = input.id + "-suggestions";
    var list = document.createElement("ul");
    var status = document.createElement("p");
    var options = [];
    var active = -1;
    var timer = null;
    var lastQuery = "";

    list.id = listId;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    box.appendChild(list);
    box.appendChild(status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      options.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(suggestions) {
      list.textContent = "";
      options = suggestions.map(function (s, i) {
        var li = document.createElement("li");
        var kind = document.createElement("span");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.kind = s.kind;
        li.dataset.value = s.value;
        li.dataset.label = s.label;
        kind.className = "suggestion-kind";
        kind.textContent = KIND_LABEL[s.kind] || s.kind;
        li.appendChild(kind);
        li.appendChild(document.createTextNode(" " + s.label));
        li.addEventListener("mousedown", function (event) { event.preventDefault(); });
        li.addEventListener("click", function () { choose(i); });
        list.appendChild(li);
        return li;
      });
      active = -1;
      list.hidden = options.length === 0;
      input.setAttribute("aria-expanded", options.length ? "true" : "false");
      status.textContent = options.length ? options.length + " suggestions; use the arrow keys to choose." : "";
    }

    function applyFilter(kind, value, label) {
      var control = form && form.elements.namedItem(kind);
      var boxes = form ? form.querySelectorAll('input[type="checkbox"][name="' + kind + '"]') : [];
      var matched = Array.prototype.filter.call(boxes, function (b) { return b.value === value; });
      if (matched.length) {
        matched[0].checked = true;
      } else if (control && control.tagName === "SELECT") {
        control.value = value;
      } else if (form) {
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = kind;
        hidden.value = value;
        form.appendChild(hidden);
      }
      status.textContent = (KIND_LABEL[kind] || kind) + " filter added: " + label + ".";
    }

    function choose(index) {
      var li = options[index];
      if (!li) { return; }
      if (li.dataset.kind === "place") {
        input.value = li.dataset.value;
        status.textContent = "Place set to " + li.dataset.label + ".";
      } else {
        input.value = "";
        applyFilter(li.dataset.kind, li.dataset.value, li.dataset.label);
      }
      close();
      input.focus();
    }

    function fetchSuggestions() {
      var query = input.value.trim();
      if (query === lastQuery) { return; }
      lastQuery = query;
      if (query.length < 2) { render([]); return; }
      fetch(box.dataset.autocomplete + "?q=" + encodeURIComponent(query), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (body) { if (input.value.trim() === query) { render(body.suggestions || []); } })
        .catch(function () { render([]); });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fetchSuggestions, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && options.length > 0;
      if (event.key === "ArrowDown" && open) {
        event.preventDefault();
        highlight((active + 1) % options.length);
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(active <= 0 ? options.length - 1 : active - 1);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 100); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-autocomplete]"), setUp);
  });
}());
