// Carrier check-in page: scans the QR code and verifies the authorisation in the browser
// (verifier.js: WebCrypto ES256) against the public keys and revocation list saved in
// localStorage, so a scan still works when the network is down. Passport-number checks call
// the server.
(function () {
  "use strict";

  var root = document.getElementById("check-in");
  if (!root) {
    return;
  }
  var text = root.dataset;
  var STORE = "eta.carrier.cache.v1";
  var verifier = window.etaVerifier; // verifier.js, loaded first

  var byId = function (id) { return document.getElementById(id); };
  var resultBox = byId("result");
  var canvas = document.createElement("canvas");
  var detector = null;

  // --- the local cache of keys and revocations ----------------------------------------

  function loadCache() {
    try {
      var cache = JSON.parse(localStorage.getItem(STORE) || "null");
      return cache && cache.jwks && Array.isArray(cache.revoked) ? cache : null;
    } catch (error) {
      return null;
    }
  }

  function showCacheTime(cache) {
    var shown = byId("cache-refreshed");
    shown.textContent = cache ? new Date(cache.refreshedAt).toLocaleString() : text.textNever;
    shown.dataset.refreshedAt = cache ? cache.refreshedAt : "";
    shown.dataset.version = cache ? String(cache.version) : "";
  }

  function clearResult() {
    resultBox.hidden = true;
    resultBox.dataset.result = "";
    resultBox.dataset.reason = "";
  }

  function showNetwork(message) {
    var status = byId("network-status");
    status.textContent = message || "";
    status.hidden = !message;
  }

  async function refreshCache() {
    var previous = loadCache();
    try {
      var responses = await Promise.all([
        fetch(text.jwksUrl, { cache: "no-cache", credentials: "omit" }),
        fetch(text.revocationsUrl, { cache: "no-cache", credentials: "omit" })
      ]);
      if (!responses[0].ok || !responses[1].ok) {
        throw new Error("refresh failed");
      }
      var jwks = await responses[0].json();
      var list = await verifier.verifyJws(
        await responses[1].text(), verifier.REVOCATIONS_TYP, jwks
      );
      if (!list.ok || list.claims.iss !== text.issuer || !Array.isArray(list.claims.revoked)) {
        throw new Error("revocation list does not verify");
      }
      // A replayed older list must not undo a revocation this device already knows about.
      if (previous && typeof previous.version === "number" && list.claims.ver < previous.version) {
        throw new Error("older revocation list");
      }
      var cache = {
        jwks: jwks,
        revoked: list.claims.revoked,
        version: list.claims.ver,
        refreshedAt: new Date().toISOString()
      };
      localStorage.setItem(STORE, JSON.stringify(cache));
      showCacheTime(cache);
      showNetwork("");
      return cache;
    } catch (error) {
      showCacheTime(previous);
      showNetwork(text.textOffline);
      return previous;
    }
  }

  // --- showing a result ----------------------------------------------------------------

  // A row shows only with a value: a NOT OK answer or a passport check shows no empty rows.
  function setDetail(id, value) {
    var cell = byId(id);
    cell.textContent = value || "";
    cell.parentElement.hidden = !value;
    return Boolean(value);
  }

  function showResult(answer) {
    var kind = answer.result === "OK" ? "ok" : (answer.result === "NOT_APPLICABLE" ? "na" : "not-ok");
    resultBox.classList.remove("eta-result--ok", "eta-result--not-ok", "eta-result--na");
    resultBox.classList.add("eta-result--" + kind);
    byId("result-title").textContent =
      kind === "ok" ? text.textOk : (kind === "na" ? text.textNa : text.textNotOk);
    var reasonKey = "reason" + answer.reason.replace(/(^|_)([a-z])/g, function (match, sep, letter) {
      return sep === "_" ? "_" + letter : letter.toUpperCase();
    });
    byId("result-reason").textContent = answer.result === "OK"
      ? text.textCompare
      : (text[reasonKey] || answer.reason);
    var shown = [
      setDetail("result-surname", answer.surname),
      setDetail("result-given-names", answer.given_names),
      setDetail(
        "result-passport",
        answer.passport_number ? answer.passport_number + " (" + (answer.issuing_country || "") + ")" : ""
      ),
      setDetail("result-dob", answer.date_of_birth),
      // With its time zone: a desk in another zone than the passenger's reads it right.
      setDetail("result-valid-until", answer.valid_until
        ? new Date(answer.valid_until).toLocaleString(undefined, { timeZoneName: "short" })
        : ""),
      setDetail("result-reference", answer.reference)
    ];
    byId("result-details").hidden = answer.result !== "OK" || !shown.some(Boolean);
    resultBox.dataset.result = answer.result;
    resultBox.dataset.reason = answer.reason;
    resultBox.hidden = false;
    resultBox.scrollIntoView({ block: "start" });
  }

  async function checkToken(token) {
    var cache = loadCache();
    if (navigator.onLine !== false) {
      cache = (await refreshCache()) || cache;
    }
    if (!cache) {
      showResult({ result: "NOT_OK", reason: "invalid_signature" });
      showNetwork(text.textNetwork);
      return;
    }
    showResult(await verifier.verifyAuthorisation(token, cache, text.issuer, Date.now() / 1000));
  }

  // --- decoding QR codes ---------------------------------------------------------------

  async function setUpDetector() {
    if (!("BarcodeDetector" in window)) {
      return;
    }
    try {
      var formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.indexOf("qr_code") >= 0) {
        detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      }
    } catch (error) {
      detector = null;
    }
  }

  async function decode(source, width, height) {
    if (detector) {
      try {
        var codes = await detector.detect(source);
        if (codes.length) {
          return codes[0].rawValue;
        }
      } catch (error) {
        // fall through to the vendored decoder
      }
    }
    if (typeof window.jsQR !== "function" || !width || !height) {
      return null;
    }
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(source, 0, 0, width, height);
    var pixels = context.getImageData(0, 0, width, height);
    var code = window.jsQR(pixels.data, width, height, { inversionAttempts: "attemptBoth" });
    return code ? code.data : null;
  }

  async function onImageChosen(event) {
    var input = event.target;
    var file = input.files && input.files[0];
    if (!file) {
      return;
    }
    clearResult();
    try {
      var bitmap = await createImageBitmap(file);
      var token = await decode(bitmap, bitmap.width, bitmap.height);
      if (token) {
        await checkToken(token);
      } else {
        showNetwork(text.textNoCode);
      }
    } finally {
      input.value = "";  // the same photo can be chosen again
    }
  }

  var stream = null;

  function stopCamera() {
    var video = byId("camera");
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }
    video.hidden = true;
  }

  async function startCamera() {
    var video = byId("camera");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (error) {
      showNetwork(text.textNoCode);
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    var scan = async function () {
      if (!stream) {
        return;
      }
      var token = await decode(video, video.videoWidth, video.videoHeight);
      if (token) {
        stopCamera();
        clearResult();
        await checkToken(token);
        return;
      }
      window.setTimeout(scan, 200);
    };
    scan();
  }

  // --- manual passport check (needs the network) ---------------------------------------

  async function onManualCheck(event) {
    event.preventDefault();
    var form = event.target;
    var error = byId("manual-error");
    error.hidden = true;
    clearResult();
    var body = {
      passport_number: form.passport_number.value.trim(),
      issuing_country: form.issuing_country.value.trim().toUpperCase()
    };
    if (form.date_of_birth.value.trim()) {
      body.date_of_birth = form.date_of_birth.value.trim();
    }
    var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");
    var response;
    try {
      response = await fetch(text.checkUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify(body)
      });
    } catch (networkError) {
      error.textContent = text.textNetwork;
      error.hidden = false;
      return;
    }
    var answer = await response.json();
    if (!response.ok) {
      var messages = answer.errors ? Object.values(answer.errors).flat() : [answer.detail || answer.title];
      error.textContent = messages.join(" ");
      error.hidden = false;
      return;
    }
    // The API tells only what boarding needs; the passport the desk typed is shown with it.
    if (answer.result === "OK") {
      answer.passport_number = body.passport_number;
      answer.issuing_country = body.issuing_country;
      answer.date_of_birth = body.date_of_birth;
    }
    showResult(answer);
  }

  // A token pasted from an email, a PDF or a departure control system: checked like a scan.
  async function onPastedToken(event) {
    event.preventDefault();
    var error = byId("token-error");
    error.hidden = true;
    clearResult();
    var token = event.target.token.value.replace(/\s+/g, "");
    if (!token) {
      error.textContent = text.textNoToken;
      error.hidden = false;
      return;
    }
    await checkToken(token);
  }

  // The service worker keeps this page, its styles and its scripts for a reload while
  // offline; it is told which files the page uses, so a new release installs a new worker.
  function registerServiceWorker() {
    if (!("serviceWorker" in navigator)) {
      return;
    }
    var assets = Array.prototype.map.call(
      document.querySelectorAll("link[rel=stylesheet][href], script[src]"),
      function (element) {
        var url = new URL(element.href || element.src, location.href);
        return "asset=" + encodeURIComponent(url.pathname + url.search);
      }
    );
    navigator.serviceWorker
      .register(text.serviceWorkerUrl + "?" + assets.join("&"), { scope: text.serviceWorkerScope })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function () { root.dataset.offlineReady = "true"; })
      .catch(function () { root.dataset.offlineReady = "false"; });
  }

  byId("qr-image").addEventListener("change", onImageChosen);
  byId("start-camera").addEventListener("click", startCamera);
  byId("refresh-cache").addEventListener("click", refreshCache);
  byId("manual-check").addEventListener("submit", onManualCheck);
  byId("paste-check").addEventListener("submit", onPastedToken);
  showCacheTime(loadCache());
  setUpDetector();
  refreshCache();
  registerServiceWorker();
}());
