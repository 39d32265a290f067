// Phone check-in: when the site checks presence, fill in the position before sending.
// The form then sends itself through htmx (hx-trigger="hb:positioned"), like the others.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-needs-position") || form.dataset.positioned) return;
    var submitter = event.submitter;
    event.preventDefault();
    function send() {
      form.dataset.positioned = "1";
      if (submitter) {
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = submitter.name; hidden.value = submitter.value;
        form.appendChild(hidden);
      }
      // htmx answers with the panel only; without htmx, an ordinary form post.
      if (window.htmx) { window.htmx.trigger(form, "hb:positioned"); } else { form.submit(); }
    }
    if (!navigator.geolocation) { send(); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.lat.value = pos.coords.latitude;
      form.elements.lon.value = pos.coords.longitude;
      form.elements.acc.value = pos.coords.accuracy || 0;
      send();
    }, send, { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 });
  });
})();
