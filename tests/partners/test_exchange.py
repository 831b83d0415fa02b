"""Two eta instances on one machine exchange a trust list and lost/stolen feeds (issue 17).

Instance A ("a-border", Nordland) reports a passport stolen; instance B ("b-border") imports
A's feed, refers an applicant holding that passport with the explanation, and its carrier
API accepts A's authorisation. Tampered, replayed and stale lists and feeds are refused,
saying why. Every step is a real command, request or job on the instance it belongs to.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from eta.models import Application, PartnerFeed, PartnerFeedEntry, ScreeningHit, ScreeningRun
from eta.models import ApplicationStatus as S
from eta.timeutil import utcnow
from tests.factories import valid_payload
from tests.partners.conftest import Instance

STOLEN = {"number": "NB4711234", "issuing_country": "NOR"}
UNRELATED_LIST = "id,full_name,date_of_birth,nationality\nB-1,Quentin Zebulon Halvorsen,1931,ISL\n"


def _ok(result: Any) -> str:
    assert result.exit_code == 0, result.output
    return str(result.output)


def _refused(result: Any) -> str:
    assert result.exit_code == 1, result.output
    return str(result.output)


def _sign_list(tmp: Path, anchor: dict[str, Path], entries: list[Any], sequence: int) -> Path:
    from click.testing import CliRunner

    from eta.partners.cli import sign

    partners = tmp / f"partners-{sequence}.json"
    partners.write_text(json.dumps({"partners": entries}))
    signed = CliRunner().invoke(
        sign,
        [str(partners), "--anchor-key", str(anchor["pem"]), "--issuer",
         "https://anchor.example", "--sequence", str(sequence)],
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    path = tmp / f"trust-list-{sequence}.jws"
    path.write_text(signed.output)
    return path


def _tamper(token: str, change: Any) -> str:
    header, payload, signature = token.strip().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    change(claims)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join([header, forged, signature])


def _load_unrelated_watchlist(instance: Instance) -> None:
    """Screening refers everyone while no list is loaded (fail closed): load one person."""
    from eta.extensions import db
    from eta.screening import lists

    path = instance.folder / "baseline.csv"
    path.write_text(UNRELATED_LIST)
    with instance.app.app_context():
        lists.import_watchlist(db.session, source="BASELINE", fmt="csv", path=path, actor="test")


def _submit_and_screen(instance: Instance, **passport: str) -> Application:
    """Apply through the instance's API and run its screening (and issuance) on a real worker."""
    from eta.extensions import db, limiter, redis_client
    from workers.runner import make_worker

    payload = valid_payload(nationality="NOR")
    payload["passport"].update(passport)
    limiter.enabled = False
    try:
        response = instance.app.test_client().post("/api/v1/applications", json=payload)
    finally:
        limiter.enabled = True
    assert response.status_code == 202, response.get_json()
    reference = response.get_json()["reference"]
    with instance.app.app_context():
        make_worker(redis_client.client).work(burst=True, with_scheduler=False)
        found = select(Application).where(Application.reference == reference)
        application = db.session.scalar(found)
        assert application is not None
        db.session.expunge(application)
        return application


def _hits(instance: Instance, application: Application) -> list[ScreeningHit]:
    from eta.extensions import db

    with instance.app.app_context():
        hits = db.session.scalars(
            select(ScreeningHit)
            .join(ScreeningRun)
            .where(ScreeningRun.application_id == application.id)
        ).all()
        db.session.expunge_all()
        return list(hits)


def _token_of(instance: Instance, application: Application) -> str:
    response = instance.app.test_client().post(
        "/api/v1/applications/status",
        json={
            "reference": application.reference,
            "passport_number": application.passport_number,
            "date_of_birth": application.date_of_birth.isoformat(),
        },
    )
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["authorisation"]["token"])


def _carrier_verify(instance: Instance, api_key: str, token: str) -> dict[str, Any]:
    response = instance.app.test_client().post(
        "/api/v1/carrier/verify",
        json={"token": token},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def _trust_each_other(
    tmp: Path, anchor: dict[str, Path], a: Instance, b: Instance
) -> tuple[list[Any], Path]:
    """Both print their entries, the anchor signs list 1, both import it."""
    entries = [json.loads(_ok(i.run("trust", "entry", "--country", c))) for i, c in
               ((a, "NOR"), (b, "UTO"))]  # fmt: skip
    list_1 = _sign_list(tmp, anchor, entries, 1)
    for instance in (a, b):
        said = _ok(instance.run("trust", "import", str(list_1), "--anchor", str(anchor["jwks"])))
        assert "trust list 1 from https://anchor.example in use: a-border (NOR), b-border" in said
    return entries, list_1


def test_two_instances_exchange_a_trust_list_feeds_and_authorisations(
    instance_a: Instance, instance_b: Instance, anchor: dict[str, Path], tmp_path: Path
):
    a, b = instance_a, instance_b
    entries, list_1 = _trust_each_other(tmp_path, anchor, a, b)
    (entry_a,) = [entry for entry in entries if entry["id"] == "a-border"]
    # A's entry lists its audit log's signed checkpoints and key, for partners to witness.
    assert entry_a["endpoints"]["audit_checkpoint"] == (
        "https://eta-a.example/api/v1/audit/checkpoint"
    )
    assert entry_a["endpoints"]["audit_key"] == "https://eta-a.example/api/v1/audit/key"
    assert {key["purpose"] for key in entry_a["keys"]} == {"token_signing", "feed_signing"}
    assert entry_a["issuer"] == "https://eta-a.example"

    # A: an epoch key, handed to B; a stolen passport; the feed's first batch (a snapshot).
    assert "Epoch 1" in _ok(a.run("partner", "feed", "key", "rotate"))
    key_file = tmp_path / "a-epoch-1.key"
    _ok(a.run("partner", "feed", "key", "export", "1", "--out", str(key_file)))
    assert key_file.stat().st_mode & 0o077 == 0
    assert "Holding a-border's epoch 1" in _ok(
        b.run("partner", "feed", "key", "import", "a-border", str(key_file))
    )
    stolen_csv = tmp_path / "stolen.csv"
    stolen_csv.write_text(f"country,number\nNOR,{STOLEN['number']}\nNOR,NC0000001\n")
    _ok(a.run("lost-stolen", "import", str(stolen_csv), "--source", "NORDLAND"))
    batch_1 = tmp_path / "a-1.jws"
    exported = _ok(a.run("partner", "feed", "export", "--out", str(batch_1)))
    assert "Batch 1 of a-border (snapshot, epoch 1): 2 added, 0 deleted, 2 listed" in exported
    assert "Hashing lost/stolen documents: 2 of 2" in exported  # the progress line
    # No document number leaves A: the batch holds 128-bit keyed hashes only.
    claims = json.loads(base64.urlsafe_b64decode(batch_1.read_text().split(".")[1] + "=="))
    assert STOLEN["number"] not in batch_1.read_text()
    assert len(claims["entries"]) == 2 and all(len(e) == 22 for e in claims["entries"])

    # B: imports it; importing it again changes nothing (idempotent).
    assert "batch 1 of a-border applied (snapshot): 2 added, 0 deleted, 2 listed" in _ok(
        b.run("partner", "feed", "import", str(batch_1))
    )
    assert "batch 1 of a-border is already applied; nothing changed" in _ok(
        b.run("partner", "feed", "import", str(batch_1))
    )

    # B refers an applicant holding the stolen passport, with the explanation; not a refusal.
    _load_unrelated_watchlist(b)
    held = _submit_and_screen(b, **STOLEN)
    assert held.status == S.REFERRED
    (hit,) = [h for h in _hits(b, held) if h.code == "document_reported_by_partner"]
    assert hit.explanation.startswith(
        f"Passport NOR {STOLEN['number']} is reported lost, stolen or revoked by a-border "
        "(feed batch 1"
    )
    assert "confirm with the issuing state" in hit.explanation
    assert "no reason to refuse" in hit.explanation
    clean = _submit_and_screen(b, number="NB0000042", issuing_country="NOR")
    assert clean.status == S.APPROVED  # another passport of the same country clears

    # A's authorisation verifies at B's carrier API, and B's at A's (mutual recognition).
    _load_unrelated_watchlist(a)
    approved_at_a = _submit_and_screen(a, number="NA1000001", issuing_country="NOR")
    assert approved_at_a.status == S.APPROVED
    token_a = _token_of(a, approved_at_a)
    key_b = _ok(b.run("carrier", "create", "Utopia Air")).strip().splitlines()[-1]
    answer = _carrier_verify(b, key_b, token_a)
    assert answer["result"] == "OK" and answer["reference"] == approved_at_a.reference
    forged = _tamper(token_a, lambda c: c.update(exp=c["exp"] + 86400))
    assert _carrier_verify(b, key_b, forged) == {
        "result": "NOT_OK",
        "reason": "invalid_signature",
    }
    key_a = _ok(a.run("carrier", "create", "Nordland Air")).strip().splitlines()[-1]
    token_b = _token_of(b, clean)
    assert _carrier_verify(a, key_a, token_b)["result"] == "OK"

    # A delta: one document found again (deleted), one newly stolen; B applies it.
    stolen_csv.write_text("country,number\nNOR,NC0000002\n")
    _ok(a.run("lost-stolen", "import", str(stolen_csv), "--source", "NORDLAND"))
    with a.app.app_context():
        from eta.extensions import db
        from eta.models import LostStolenDocument

        found_again = db.session.scalar(
            select(LostStolenDocument).where(LostStolenDocument.number_normalised == "NC0000001")
        )
        db.session.delete(found_again)
        db.session.commit()
    batch_2 = tmp_path / "a-2.jws"
    assert "Batch 2 of a-border (delta, epoch 1): 1 added, 1 deleted, 2 listed" in _ok(
        a.run("partner", "feed", "export", "--out", str(batch_2))
    )
    assert "batch 2 of a-border applied (delta): 1 added, 1 deleted, 2 listed" in _ok(
        b.run("partner", "feed", "import", str(batch_2))
    )

    # Refused, saying why: the older batch again, a tampered one, the list again.
    replayed = _refused(b.run("partner", "feed", "import", str(batch_1)))
    assert "feed refused (replayed): sequence 1 is not newer than the batch applied (2)" in (
        replayed
    )
    tampered = tmp_path / "a-2-tampered.jws"
    tampered.write_text(_tamper(batch_2.read_text(), lambda c: c.update(deletions=[])))
    assert "feed refused (bad_signature)" in _refused(
        b.run("partner", "feed", "import", str(tampered))
    )
    assert "trust list refused (replayed): sequence 1 is not newer" in _refused(
        b.run("trust", "import", str(list_1), "--anchor", str(anchor["jwks"]))
    )
    with b.app.app_context():
        from eta.extensions import db

        state = db.session.get(PartnerFeed, "a-border")
        assert state is not None and (state.sequence, state.entry_count) == (2, 2)
        assert db.session.query(PartnerFeedEntry).count() == 2


def test_stale_feeds_and_lists_are_refused_and_a_stale_list_recognises_no_one(
    instance_a: Instance, instance_b: Instance, anchor: dict[str, Path], tmp_path: Path
):
    from eta.partners.current import feed_keys, feed_signer, partner_tokens
    from eta.partners.feed import sign_feed_batch
    from eta.partners.trustlist import sign_trust_list

    a, b = instance_a, instance_b
    entries, _list_1 = _trust_each_other(tmp_path, anchor, a, b)
    _ok(a.run("partner", "feed", "key", "rotate"))
    key_file = tmp_path / "a.key"
    _ok(a.run("partner", "feed", "key", "export", "1", "--out", str(key_file)))
    _ok(b.run("partner", "feed", "key", "import", "a-border", str(key_file)))

    # A batch signed a week ago that expired yesterday: stale.
    week_ago = utcnow() - dt.timedelta(days=7)
    with a.app.app_context():
        epoch = feed_keys().current()
        assert epoch is not None
        stale = sign_feed_batch(
            issuer="a-border", sequence=1, epoch=1, epoch_key=epoch.key, kind="snapshot",
            entries=[b"\x01" * 16], now=week_ago, expires_at=utcnow() - dt.timedelta(days=1),
            signer=feed_signer(),
        )  # fmt: skip
    stale_file = tmp_path / "stale.jws"
    stale_file.write_text(stale)
    refused = _refused(b.run("partner", "feed", "import", str(stale_file)))
    assert "feed refused (stale): the batch expired at" in refused

    # A batch signed by a key the list does not vouch for (B's own feed key, claiming A).
    with b.app.app_context():
        foreign = sign_feed_batch(
            issuer="a-border", sequence=5, epoch=1, epoch_key=epoch.key, kind="snapshot",
            entries=[], now=utcnow(), expires_at=utcnow() + dt.timedelta(days=1),
            signer=feed_signer(),
        )  # fmt: skip
    foreign_file = tmp_path / "foreign.jws"
    foreign_file.write_text(foreign)
    assert "feed refused (wrong_issuer)" in _refused(
        b.run("partner", "feed", "import", str(foreign_file))
    )

    # A trust list already past its next update is refused at import.
    from eta.partners.cli import _anchor

    old = sign_trust_list(
        entries, issuer="https://anchor.example", sequence=2,
        next_update=utcnow() - dt.timedelta(hours=1), anchor=_anchor(anchor["pem"]),
        now=week_ago,
    )  # fmt: skip
    old_file = tmp_path / "trust-list-old.jws"
    old_file.write_text(old)
    assert "trust list refused (stale): the list was due to be replaced" in _refused(
        b.run("trust", "import", str(old_file))
    )
    # The list in use, once past its next update, recognises no partner and imports no feed.
    with b.app.app_context():
        assert partner_tokens(utcnow())
        assert not partner_tokens(utcnow() + dt.timedelta(days=8))


def _revocation_list_of(instance: Instance) -> str:
    response = instance.app.test_client().get("/api/v1/revocations")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _serve(instance: Instance) -> Any:
    """Serve the instance over real HTTP on a free port (a thread), for URL imports."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, instance.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_token_revoked_at_a_is_refused_at_b_once_b_imports_a_revocation_list(
    instance_a: Instance, instance_b: Instance, anchor: dict[str, Path], tmp_path: Path, monkeypatch
):
    """Issue 17: a partner's revoked token verified at our carriers; now B imports A's signed
    list (a file or A's URL), checked with A's key from the trust list, and refuses it."""
    from eta import authorisations
    from eta.extensions import db, limiter
    from eta.issuance.revocations import revocation_hash, sign_revocation_list
    from eta.models import Actor, Authorisation

    a, b = instance_a, instance_b
    _trust_each_other(tmp_path, anchor, a, b)
    _load_unrelated_watchlist(a)
    first, second = (
        _submit_and_screen(a, number=number, issuing_country="NOR")
        for number in ("NA2000001", "NA2000002")
    )
    token, other_token = _token_of(a, first), _token_of(a, second)
    key_b = _ok(b.run("carrier", "create", "Utopia Air")).strip().splitlines()[-1]
    before = tmp_path / "a-revocations-0.jws"
    before.write_text(_revocation_list_of(a))
    assert "version 0 of a-border's revocation list imported: 0 revoked" in _ok(
        b.run("partner", "revocations", "import", str(before))
    )
    assert _carrier_verify(b, key_b, token)["result"] == "OK"  # B's state is loaded now

    # A revokes; until B imports A's list, B's carriers cannot know.
    with a.app.app_context():
        authorisation = db.session.scalar(
            select(Authorisation).where(Authorisation.application_id == first.id)
        )
        assert authorisation is not None
        revoked_hash = revocation_hash(authorisation.jti)
        authorisations.revoke(
            db.session, authorisation, reason_code="new_information", officer_id=None,
            actor=Actor.SYSTEM,
        )  # fmt: skip
    assert _carrier_verify(b, key_b, token)["result"] == "OK"
    server = _serve(a)
    try:
        url = f"http://127.0.0.1:{server.port}/api/v1/revocations"
        said = _ok(b.run("partner", "revocations", "import", url))
    finally:
        server.shutdown()
    assert f"{url}: version 1 of a-border's revocation list imported: 1 revoked (1 added" in said
    # At once, at B's carriers (token, batch) and on B's verify page; A's other token is fine.
    assert _carrier_verify(b, key_b, token) == {"result": "NOT_OK", "reason": "revoked"}
    batch = b.app.test_client().post(
        "/api/v1/carrier/verify-batch",
        json={"passengers": [{"token": token}, {"token": other_token}]},
        headers={"Authorization": f"Bearer {key_b}"},
    )
    assert [r["result"] for r in batch.get_json()["results"]] == ["NOT_OK", "OK"]
    with b.app.test_request_context():
        assert authorisations.verify_token(token).reason == "revoked"
        assert authorisations.verify_token(other_token).ok
    # Redis unreachable (no state version to trust): the database answers, still revoked.
    storage = limiter.limiter.storage
    from redis import Redis

    with monkeypatch.context() as down:
        down.setattr(storage, "storage", Redis(host="127.0.0.1", port=1))
        down.setattr(storage, "_eta_admit_script", None, raising=False)
        assert _carrier_verify(b, key_b, token) == {"result": "NOT_OK", "reason": "revoked"}
        assert _carrier_verify(b, key_b, other_token)["result"] == "OK"

    # The same list again: nothing changes. An older one, a tampered one, a stale one, one
    # signed by a key the trust list does not give A, B's own: refused, saying why.
    current = tmp_path / "a-revocations-1.jws"
    current.write_text(_revocation_list_of(a))
    assert "version 1 of a-border's revocation list is already imported; entries unchanged" in (
        _ok(b.run("partner", "revocations", "import", str(current)))
    )
    assert "revocation list refused (replayed): version 0 is older than a-border's list" in (
        _refused(b.run("partner", "revocations", "import", str(before)))
    )
    tampered = tmp_path / "a-tampered.jws"
    tampered.write_text(_tamper(current.read_text(), lambda c: c.update(revoked=[])))
    assert "revocation list refused (bad_signature)" in _refused(
        b.run("partner", "revocations", "import", str(tampered))
    )
    with a.app.app_context():
        stale = sign_revocation_list(
            [revoked_hash], 2, authorisations.issuer(), authorisations.keyring().active(),
            utcnow() - dt.timedelta(days=2),
        )  # fmt: skip
    stale_file = tmp_path / "a-stale.jws"
    stale_file.write_text(stale)
    assert "revocation list refused (stale): the list was signed at" in _refused(
        b.run("partner", "revocations", "import", str(stale_file))
    )
    own = tmp_path / "b-own.jws"
    own.write_text(_revocation_list_of(b))
    assert "revocation list refused (ours)" in _refused(
        b.run("partner", "revocations", "import", str(own))
    )
    from cryptography.hazmat.primitives.asymmetric import ec

    from eta.issuance.keys import SigningKey, key_id

    stranger = ec.generate_private_key(ec.SECP256R1())
    foreign = sign_revocation_list(
        [], 9, "https://eta-a.example",
        SigningKey(kid=key_id(stranger.public_key()), private_key=stranger), utcnow(),
    )  # fmt: skip
    foreign_file = tmp_path / "a-foreign.jws"
    foreign_file.write_text(foreign)
    assert "revocation list refused (unknown_kid)" in _refused(
        b.run("partner", "revocations", "import", str(foreign_file))
    )
    listed = _ok(b.run("partner", "revocations", "list"))
    assert "a-border" in listed and "stale" not in listed
    # Still revoked after all the refusals.
    assert _carrier_verify(b, key_b, token) == {"result": "NOT_OK", "reason": "revoked"}


def test_fetching_a_partner_list_from_its_endpoint_says_why_it_failed(
    instance_a: Instance, instance_b: Instance, anchor: dict[str, Path], tmp_path: Path
):
    a, b = instance_a, instance_b
    entries = [json.loads(_ok(i.run("trust", "entry", "--country", c))) for i, c in
               ((a, "NOR"), (b, "UTO"))]  # fmt: skip
    # Nothing listens on port 1: the fetch fails at once, naming the endpoint.
    entries[0]["endpoints"]["revocations"] = "https://127.0.0.1:1/api/v1/revocations"
    list_1 = _sign_list(tmp_path, anchor, entries, 1)
    _ok(b.run("trust", "import", str(list_1), "--anchor", str(anchor["jwks"])))
    said = _refused(b.run("partner", "revocations", "fetch"))
    assert "https://127.0.0.1:1/api/v1/revocations: cannot fetch the list" in said
    assert "not a partner in the trust list: c-border" in _refused(
        b.run("partner", "revocations", "fetch", "c-border")
    )
