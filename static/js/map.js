// Maps of search results and practice locations, drawn with Leaflet (static/vendor/leaflet, from npm).
// Progressive enhancement: the box stays hidden without JavaScript or Leaflet, and the list beside it
// always carries the same information. If the tile server cannot be reached the markers still show
// on a blank background and a note says so.
(function () {
  "use strict";

  function points(selector) {
    return Array.prototype.map.call(document.querySelectorAll(selector), function (el) {
      return { lat: parseFloat(el.dataset.lat), lon: parseFloat(el.dataset.lon), name: el.dataset.name || "",
               url: el.dataset.url || "" };
    }).filter(function (p) { return isFinite(p.lat) && isFinite(p.lon); });
  }

  function popup(point) {
    var wrap = document.createElement("div");
    if (point.url) {
      var link = document.createElement("a");
      link.href = point.url;
      link.textContent = point.name;
      wrap.appendChild(link);
    } else {
      wrap.textContent = point.name;
    }
    return wrap;
  }

  function draw(el) {
    var box = el.parentElement;
    var found = points(el.dataset.points);
    if (!window.L || !found.length) { return; }
    box.hidden = false;
    var map = window.L.map(el, { scrollWheelZoom: false });
    var tiles = window.L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.attribution, maxZoom: 18 });
    var failed = false;
    tiles.on("tileerror", function () {
      if (failed) { return; }
      failed = true;
      box.querySelector(".map-error").hidden = false;
      box.classList.add("map-failed");
    });
    tiles.addTo(map);
    var bounds = [];
    found.forEach(function (p) {
      window.L.marker([p.lat, p.lon], { title: p.name, alt: p.name, keyboard: true }).bindPopup(popup(p)).addTo(map);
      bounds.push([p.lat, p.lon]);
    });
    var originLat = parseFloat(el.dataset.originLat);
    var originLon = parseFloat(el.dataset.originLon);
    if (isFinite(originLat) && isFinite(originLon)) {
      window.L.circleMarker([originLat, originLon], { radius: 7, color: "#8a3b00", weight: 3, fillOpacity: 0.6 })
        .bindTooltip("You searched around " + (el.dataset.originLabel || "here")).addTo(map);
      bounds.push([originLat, originLon]);
    }
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 14 });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-map]"), draw);
  });
}());
