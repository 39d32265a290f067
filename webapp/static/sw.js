// Hourbook service worker: caches versioned static files (…/static/…?v=hash), and one
// authenticated page on purpose: the volunteer's own QR card (/me/card and its QR image), so
// that it still shows where the service site has no signal — the kiosk reads cards offline.
// The card is fetched from the network first and kept only when it really is the card (not a
// sign-in page after a redirect); signing out deletes every cache but the offline page's
// (static/js/app.js). Nothing else authenticated, no htmx response, no API call is ever cached.
// A page that cannot load for want of a network gets the offline page (/offline: public, in
// both languages, fetched without cookies when the worker installs, with the static files it
// uses) instead of the browser's own error page.
const CACHE = "hourbook-static-v2";
const CARD_CACHE = "hourbook-card-v1";
const OFFLINE_CACHE = "hourbook-offline-v1";
const OFFLINE_URL = "/offline";
const CARD_PATHS = ["/me/card", "/me/card.svg"];

function keepOfflinePage() {
  return fetch(new Request(OFFLINE_URL, { credentials: "omit", cache: "no-store" })).then((response) => {
    if (!response.ok) return undefined;
    return response.clone().text().then((html) => {
      const assets = Array.from(new Set(Array.from(html.matchAll(/(?:href|src)="(\/static\/[^"]+\?v=[^"]+)"/g),
        (m) => m[1].replace(/&amp;/g, "&"))));  // addAll refuses the same file twice
      return caches.open(OFFLINE_CACHE).then((cache) =>
        cache.addAll(assets).then(() => cache.put(OFFLINE_URL, response)));
    });
  }).catch(() => undefined); // offline while installing: the next install tries again
}

function offlinePage() {
  return caches.open(OFFLINE_CACHE).then((cache) => cache.match(OFFLINE_URL))
    .then((hit) => hit || Response.error());
}

self.addEventListener("install", (event) => {
  self.skipWaiting();
  event.waitUntil(keepOfflinePage());
});
self.addEventListener("activate", (event) => {
  const kept = [CACHE, CARD_CACHE, OFFLINE_CACHE];
  event.waitUntil(caches.keys().then((keys) =>
    Promise.all(keys.filter((k) => !kept.includes(k)).map((k) => caches.delete(k))))
    .then(() => caches.open(OFFLINE_CACHE)).then((cache) => cache.match(OFFLINE_URL))
    .then((hit) => hit || keepOfflinePage())  // deleted on signing out of an older version
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
  const navigation = request.mode === "navigate";
  if (isCard(url)) {
    event.respondWith(fetch(request).then((response) => {
      if (response.ok && !response.redirected && new URL(response.url).pathname === url.pathname) {
        const copy = response.clone();
        caches.open(CARD_CACHE).then((cache) => cache.put(url.pathname, copy));
      }
      return response;
    }).catch(() => caches.open(CARD_CACHE).then((cache) => cache.match(url.pathname)).then((hit) =>
      hit || (navigation ? offlinePage() : Response.error()))));
    return;
  }
  if (navigation) {  // the network answers; only when there is none, the offline page
    event.respondWith(fetch(request).catch(() => offlinePage()));
    return;
  }
  if (!isVersionedStatic(url)) return; // the network answers everything else
  event.respondWith(
    caches.match(request).then((hit) => hit || fetch(request).then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(request, copy));
      }
      return response;
    }))
  );
});
