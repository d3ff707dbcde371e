// Advance a batch of automated checks step by step and show its progress; without this script the
// "Continue" button posts one step at a time.
(function () {
  "use strict";

  var form = document.getElementById("batch-step");
  var bar = document.getElementById("batch-bar");
  var status = document.getElementById("batch-status");
  var button = document.getElementById("batch-continue");
  if (!form || !bar || !status || !button || !window.fetch || !window.FormData) { return; }
  var at = form.querySelector("input[name=at]");

  function show(p) {
    bar.max = p.total;
    bar.value = p.done;
    status.textContent = p.done + " of " + p.total + " practitioners checked" +
      (p.failed ? ", " + p.failed + " with errors" : "") + ".";
    at.value = p.done;
    button.textContent = "Continue (" + p.left + " left)";
  }

  function pause(message) {
    status.textContent = message;
    button.disabled = false;
  }

  function step() {
    var before = at.value;
    button.disabled = true;
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                        headers: {"Accept": "application/json"}})
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.message || ("The server answered " + response.status)); }
          return body;
        });
      })
      .then(function (p) {
        show(p);
        if (p.finished) { window.location.reload(); return; }
        // Nothing moved (someone else's step holds the next chunk): let the admin continue by hand.
        if (!p.ran && String(p.done) === before) { pause("Another step is running; press Continue in a moment."); return; }
        step();
      })
      .catch(function (error) { pause("Paused: " + error.message + ". Press Continue to carry on."); });
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); step(); });
  step();
}());
