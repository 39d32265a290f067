// Hourbook service worker: caches only versioned static files (…/static/…?v=hash).
// Never authenticated pages, never htmx responses, never API calls.
const CACHE = "hourbook-static-v1";

self.addEventListener("install", (event) => { self.skipWaiting(); });
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) =>
    Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});

function isVersionedStatic(url) {
  return url.origin === self.location.origin && url.pathname.includes("/static/") && url.searchParams.has("v");
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!isVersionedStatic(url)) return; // the network answers everything else
  event.respondWith(
    caches.open(CACHE).then((cache) => cache.match(request).then((hit) => hit || fetch(request).then((response) => {
      if (response.ok) cache.put(request, response.clone());
      return response;
    })))
  );
});
