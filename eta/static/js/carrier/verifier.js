// The check-in page's offline verifier (SPEC §5 order: typ, kid, ES256 signature, iss, aud,
// nbf/exp, revocation), free of the page so it can be checked on its own: the browser loads
// it before check_in.js (window.etaVerifier); Node's test runner loads it (module.exports) to
// check docs/test-vectors/. Needs WebCrypto, atob/btoa and TextEncoder: browsers, Node >= 20.
(function (root) {
  "use strict";

  var AUTHORISATION_TYP = "eta+jwt";
  var REVOCATIONS_TYP = "eta-revocations+jwt";
  var AUDIENCE = "eta-carriers";

  // --- base64url and hashing -----------------------------------------------------------

  function b64urlToBytes(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    base64 += "===".slice((base64.length + 3) % 4);
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  function bytesToB64url(bytes) {
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeJson(segment) {
    return JSON.parse(new TextDecoder().decode(b64urlToBytes(segment)));
  }

  // The published form of a revoked token: base64url of the first 16 bytes of SHA-256(jti).
  async function revocationHash(jti) {
    var digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(jti));
    return bytesToB64url(new Uint8Array(digest).slice(0, 16));
  }

  // --- JWS verification (typ, kid, alg, ES256 signature) -------------------------------

  async function verifyJws(token, typ, jwks) {
    var parts = typeof token === "string" ? token.trim().split(".") : [];
    if (parts.length !== 3 || !parts[0] || !parts[1]) {
      return { ok: false };
    }
    var header;
    var claims;
    try {
      header = decodeJson(parts[0]);
      claims = decodeJson(parts[1]);
    } catch (error) {
      return { ok: false };
    }
    if (!header || header.typ !== typ || header.crit !== undefined) {
      return { ok: false };
    }
    var keys = (jwks && Array.isArray(jwks.keys)) ? jwks.keys : [];
    var jwk = keys.find(function (key) {
      return key.kid === header.kid && key.kty === "EC" && key.crv === "P-256";
    });
    if (!jwk || header.alg !== "ES256") {
      return { ok: false };
    }
    try {
      var key = await crypto.subtle.importKey(
        "jwk",
        { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true },
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"]
      );
      var genuine = await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        b64urlToBytes(parts[2]),
        new TextEncoder().encode(parts[0] + "." + parts[1])
      );
      return genuine && claims && typeof claims === "object" ? { ok: true, claims: claims } : { ok: false };
    } catch (error) {
      return { ok: false };
    }
  }

  // SPEC §5 order: typ, kid, signature, iss, aud, nbf/exp, revocation.
  // `cache` holds the JWKS and the revoked hashes; `now` is in seconds since the epoch.
  async function verifyAuthorisation(token, cache, issuer, now) {
    var checked = await verifyJws(token, AUTHORISATION_TYP, cache.jwks);
    if (!checked.ok) {
      return { result: "NOT_OK", reason: "invalid_signature" };
    }
    var claims = checked.claims;
    var audience = claims.aud;
    var audienceOk = audience === AUDIENCE || (Array.isArray(audience) && audience.indexOf(AUDIENCE) >= 0);
    if (claims.iss !== issuer || !audienceOk || !claims.doc || !claims.nam) {
      return { result: "NOT_OK", reason: "invalid_signature" };
    }
    if (typeof claims.nbf !== "number" || claims.nbf > now) {
      return { result: "NOT_OK", reason: "pending" };
    }
    if (typeof claims.exp !== "number" || claims.exp <= now) {
      return { result: "NOT_OK", reason: "expired" };
    }
    if (cache.revoked.indexOf(await revocationHash(String(claims.jti))) >= 0) {
      return { result: "NOT_OK", reason: "revoked" };
    }
    return {
      result: "OK",
      reason: "ok",
      reference: claims.sub,
      valid_until: new Date(claims.exp * 1000).toISOString(),
      surname: claims.nam.fn,
      given_names: claims.nam.gn,
      passport_number: claims.doc.num,
      issuing_country: claims.doc.cty,
      date_of_birth: claims.dob
    };
  }

  var api = {
    AUTHORISATION_TYP: AUTHORISATION_TYP,
    REVOCATIONS_TYP: REVOCATIONS_TYP,
    AUDIENCE: AUDIENCE,
    revocationHash: revocationHash,
    verifyJws: verifyJws,
    verifyAuthorisation: verifyAuthorisation
  };
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.etaVerifier = api;
  }
})(typeof globalThis !== "undefined" ? globalThis : this);
