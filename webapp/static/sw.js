// Hourbook service worker: caches versioned static files (…/static/…?v=hash), and one
// authenticated page on purpose: the volunteer's own QR card (/me/card and its QR image), so
// that it still shows where the service site has no signal — the kiosk reads cards offline.
// The card is fetched from the network first and kept only when it really is the card (not a
// sign-in page after a redirect); signing out deletes every cache (static/js/app.js). Nothing
// else authenticated, no htmx response, no API call is ever cached.
const CACHE = "hourbook-static-v1";
const CARD_CACHE = "hourbook-card-v1";
const CARD_PATHS = ["/me/card", "/me/card.svg"];

self.addEventListener("install", (event) => { self.skipWaiting(); });
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) =>
    Promise.all(keys.filter((k) => k !== CACHE && k !== CARD_CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function isVersionedStatic(url) {
  return url.origin === self.location.origin && url.pathname.includes("/static/") && url.searchParams.has("v");
}

function isCard(url) {
  return url.origin === self.location.origin && CARD_PATHS.includes(url.pathname);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (isCard(url)) {
    event.respondWith(fetch(request).then((response) => {
      if (response.ok && !response.redirected && new URL(response.url).pathname === url.pathname) {
        const copy = response.clone();
        caches.open(CARD_CACHE).then((cache) => cache.put(url.pathname, copy));
      }
      return response;
    }).catch(() => caches.open(CARD_CACHE).then((cache) => cache.match(url.pathname)).then((hit) =>
      hit || Response.error())));
    return;
  }
  if (!isVersionedStatic(url)) return; // the network answers everything else
  event.respondWith(
    caches.open(CACHE).then((cache) => cache.match(request).then((hit) => hit || fetch(request).then((response) => {
      if (response.ok) cache.put(request, response.clone());
      return response;
    })))
  );
});
