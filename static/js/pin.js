// Drag a location's pin to correct it: moving the marker fills the typed latitude/longitude fields,
// which work on their own without JavaScript (progressive enhancement; the form posts the fields either way).
(function () {
  "use strict";

  function draw(el) {
    var lat = document.getElementById(el.dataset.latField), lon = document.getElementById(el.dataset.lonField);
    var start = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    if (!window.L || !lat || !lon || !isFinite(start[0]) || !isFinite(start[1])) { return; }
    el.parentElement.hidden = false;
    var map = window.L.map(el, { scrollWheelZoom: false }).setView(start, 14);
    window.L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.attribution, maxZoom: 18 }).addTo(map);
    var marker = window.L.marker(start, { draggable: true, keyboard: true, title: "Practice location: drag to move" });
    marker.addTo(map);
    marker.on("dragend", function () {
      var at = marker.getLatLng();
      lat.value = at.lat.toFixed(6);
      lon.value = at.lng.toFixed(6);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-pin-map]"), draw);
  });
})();
