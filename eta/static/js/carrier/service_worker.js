// Keeps the check-in page usable when the network is down, page reloads included.
// The page shell (/carrier/) and the styles and scripts it names are cached when the worker
// is installed and refreshed on every visit made online; only when the network fails are
// they served from the cache. The keys and revocation list stay in localStorage, where
// check_in.js keeps them. Signing out empties the cache.
"use strict";

var CACHE = "eta-check-in-v1";
var SHELL = new URL(self.registration.scope).pathname; // "/carrier/"
var ASSETS = new URL(self.location.href).searchParams.getAll("asset");

// The shell is kept whenever it is served; the styles and scripts only while a shell is
// kept, so pages seen after signing out (the sign-in page) do not fill the cache again.
function keep(key, response) {
  if (key === SHELL) {
    return caches.open(CACHE).then(function (cache) { return cache.put(key, response); });
  }
  return caches.has(CACHE).then(function (kept) {
    if (kept) {
      return caches.open(CACHE).then(function (cache) { return cache.put(key, response); });
    }
    return undefined;
  });
}

function cacheable(request) {
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return null;
  }
  if (request.mode === "navigate") {
    return url.pathname === SHELL ? SHELL : null;
  }
  var path = url.pathname + url.search;
  return ASSETS.indexOf(path) >= 0 ? path : null;
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll([SHELL].concat(ASSETS)); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method === "POST" && new URL(request.url).pathname === SHELL + "sign-out") {
    // Nothing of this staff member's page stays on the device once they sign out.
    event.waitUntil(caches.delete(CACHE));
    return;
  }
  var key = cacheable(request);
  if (key === null) {
    return; // everything else (the passport check, keys, revocations) goes to the network
  }
  event.respondWith(
    fetch(request).then(function (response) {
      // A redirect means signed out (or a new sign-in page): never keep that as the shell.
      if (response.ok && !response.redirected) {
        event.waitUntil(keep(key, response.clone()));
      }
      return response;
    }).catch(function () {
      return caches.match(key).then(function (hit) { return hit || Response.error(); });
    })
  );
});
