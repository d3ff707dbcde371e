// Small enhancements of the search page; the page works the same without them.
(function () {
  "use strict";

  var NARROW = window.matchMedia("(max-width: 640px)");

  // "Use my location" fills the place box with coordinates, which the place box accepts as "lat, lon".
  function setUpNearMe(button) {
    if (!("geolocation" in navigator)) { return; }
    var input = document.getElementById("place");
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        input.value = position.coords.latitude.toFixed(4) + ", " + position.coords.longitude.toFixed(4);
        button.disabled = false;
        input.focus();
      }, function () {
        button.disabled = false;
        button.textContent = "Location unavailable: type a place";
      }, { timeout: 10000, maximumAge: 600000 });
    });
  }

  // On a phone the long filter lists would push the results off screen: fold the ones with nothing chosen.
  function foldFacets() {
    if (!NARROW.matches) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("details[data-facet]"), function (details) {
      if (!details.querySelector("input:checked")) { details.open = false; }
    });
  }

  // On a phone the results come first and the filters wait behind their "Filters" toggle; wider screens show both.
  function foldFilters() {
    var panel = document.querySelector("details[data-filters]");
    if (!panel) { return; }
    var layout = panel.closest(".layout");
    function fit() {
      panel.open = !NARROW.matches;
      if (layout) { layout.classList.toggle("filters-folded", NARROW.matches); }
    }
    fit();
    NARROW.addEventListener("change", fit);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-near-me]"), setUpNearMe);
    foldFacets();
    foldFilters();
  });
}());
