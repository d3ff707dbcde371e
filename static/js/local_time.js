// Instants the server writes in UTC ("03 Dec 2026 17:41 UTC") are shown in the reader's own time zone, named
// ("03 Dec 2026 12:41 EST"). Without this script the UTC text stays, which is just as true; hovering shows it.
(function () {
  "use strict";

  var times = document.querySelectorAll("time[data-local-time]");
  if (!times.length || typeof Intl === "undefined" || !Intl.DateTimeFormat.prototype.formatToParts) { return; }
  // en-US for its parts only: it names zones by their abbreviation ("EST", "PST"), where en-GB says "GMT-5".
  var format = new Intl.DateTimeFormat("en-US", {
    day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    timeZoneName: "short"
  });
  Array.prototype.forEach.call(times, function (el) {
    var at = new Date(el.getAttribute("datetime"));
    if (isNaN(at.getTime())) { return; }
    var part = {};
    format.formatToParts(at).forEach(function (p) { part[p.type] = p.value; });
    el.title = el.textContent;
    el.textContent = part.day + " " + part.month + " " + part.year + " " + part.hour + ":" + part.minute + " " +
      part.timeZoneName;
  });
}());
