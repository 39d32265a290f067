// Hourbook: small progressive enhancements. No inline scripts anywhere (CSP).
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    });
  }
  // Signing out: drop every cache the service worker keeps.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.action && form.action.indexOf("/sign-out") !== -1 && window.caches) {
      caches.keys().then(function (keys) { keys.forEach(function (k) { caches.delete(k); }); });
    }
  });
  // "Cancel" on a small confirmation panel: just remove the panel.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dismiss]");
    if (!button) return;
    var panel = button.closest(".panel");
    if (panel) panel.remove();
  });
})();
