// docs/test-vectors/ checked by the check-in page's own verifier (eta/static/js/carrier/
// verifier.js) under Node's test runner: `node --test tests/carrier/js/`. Run by
// tests/carrier/test_vectors.py; ETA_VECTORS names another folder of vectors.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const test = require("node:test");

const root = path.resolve(__dirname, "..", "..", "..");
const verifier = require(path.join(root, "eta", "static", "js", "carrier", "verifier.js"));
const folder = process.env.ETA_VECTORS || path.join(root, "docs", "test-vectors");
const read = (...parts) => fs.readFileSync(path.join(folder, ...parts), "utf8");
const index = JSON.parse(read("index.json"));
const jwks = JSON.parse(read("jwks.json"));

// As the page's refreshCache does: the list must verify and come from the issuer.
async function revokedHashes() {
  const list = await verifier.verifyJws(read("revocations.jws").trim(), verifier.REVOCATIONS_TYP, jwks);
  assert.ok(list.ok, "revocations.jws verifies against jwks.json");
  assert.equal(list.claims.iss, index.issuer);
  return list.claims.revoked;
}

test("the vectors hold every case of SPEC §6", () => {
  assert.deepEqual(index.cases.slice().sort(), [
    "bad-signature", "document-mismatch", "expired", "not-yet-valid",
    "revoked", "unknown-kid", "valid", "wrong-audience"
  ]);
});

for (const name of index.cases) {
  test(`case ${name}: the page's verifier gives the expected answer`, async () => {
    const expected = JSON.parse(read(name, "expected.json"));
    const cache = { jwks: jwks, revoked: await revokedHashes() };
    const token = read(name, "token.txt").trim();
    let answer = await verifier.verifyAuthorisation(token, cache, index.issuer, Date.now() / 1000);
    // The page shows the passport of an OK token for staff to compare; compare it here.
    if (answer.result === "OK" && (answer.passport_number !== expected.passport.number
        || answer.issuing_country !== expected.passport.issuing_country)) {
      answer = { result: "NOT_OK", reason: "document_mismatch" };
    }
    assert.deepEqual({ result: answer.result, reason: answer.reason },
      { result: expected.result, reason: expected.reason });
  });
}
