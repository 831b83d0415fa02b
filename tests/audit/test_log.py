"""The audit log end to end: append, sequence, sign, verify; tampering named; sequencers racing.

Replaces the old chain's tests: an edited, deleted or reordered event and a forged checkpoint
make `eta audit verify` fail naming it; concurrent writers leave a log with no gap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from flask import current_app
from sqlalchemy import func, select, text

from eta import audit
from eta.audit import checkpoints, sequencer
from eta.models import AuditCheckpoint, AuditEvent

PG_ONLY = pytest.mark.skipif(
    not os.environ.get("ETA_DATABASE_URL", "").startswith("postgresql"),
    reason="racing processes on PostgreSQL (ETA_DATABASE_URL)",
)


def _run(session):
    keyring, origin = checkpoints.log_signer(current_app.config)
    return sequencer.run(session, keyring, origin)


def _events(session, count, start=0):
    for index in range(start, start + count):
        audit.record(session, "test.event", actor="system", object_id=index, details={"n": index})
    session.commit()


def _verify(runner):
    return runner.invoke(args=["audit", "verify"])


def test_a_sequenced_log_verifies_and_a_proof_checks_offline(session, runner, tmp_path):
    _events(session, 5)
    done = _run(session)
    assert done.sequenced == 5 and done.checkpoint is not None
    positions = session.scalars(select(AuditEvent.position).order_by(AuditEvent.id)).all()
    assert positions == [0, 1, 2, 3, 4]
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "intact: 5 events" in result.output and "1 checkpoints verified" in result.output

    event_id = session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()[2]
    proved = runner.invoke(args=["audit", "prove", str(event_id)])
    assert proved.exit_code == 0, proved.output
    proof = tmp_path / "proof.json"
    proof.write_text(proved.output)
    keyring, origin = checkpoints.log_signer(current_app.config)
    key = checkpoints.active_verifier_key(keyring, origin)
    checked = runner.invoke(args=["audit", "verify-proof", str(proof), "--key", key])
    assert checked.exit_code == 0, checked.output
    assert "leaf 2 of the tree of 5 events" in checked.output

    document = json.loads(proved.output)
    document["body"] = document["body"].replace('"n":2', '"n":3')
    proof.write_text(json.dumps(document))
    forged = runner.invoke(args=["audit", "verify-proof", str(proof), "--key", key])
    assert forged.exit_code == 1


def test_an_edited_body_is_named(session, runner):
    _events(session, 5)
    _run(session)
    third = session.scalars(select(AuditEvent).where(AuditEvent.position == 2)).one()
    session.execute(
        text("UPDATE audit_events SET body = :b WHERE id = :id"),
        {"b": third.body.replace('"n":2', '"n":9'), "id": third.id},
    )
    session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"event {third.id}: its body does not match its leaf hash" in result.output


def test_edited_fields_are_named(session, runner):
    _events(session, 3)
    _run(session)
    first = session.scalars(select(AuditEvent).where(AuditEvent.position == 0)).one()
    session.execute(
        text("UPDATE audit_events SET actor = 'officer:9' WHERE id = :id"), {"id": first.id}
    )
    session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"event {first.id}: its fields do not match its body" in result.output


def test_a_deleted_event_is_named_by_its_position(session, runner):
    _events(session, 5)
    _run(session)
    session.execute(text("DELETE FROM audit_events WHERE position = 1"))
    session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "position 1: no event holds it" in result.output


def test_the_last_event_deleted_is_caught_by_its_checkpoint(session, runner):
    _events(session, 4)
    _run(session)
    session.execute(text("DELETE FROM audit_events WHERE position = 3"))
    session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "signs 4 events, the log holds 3" in result.output


def test_two_reordered_events_are_named(session, runner):
    _events(session, 8)
    _run(session)
    ids = dict(session.execute(select(AuditEvent.position, AuditEvent.id)).all())
    session.execute(text("UPDATE audit_events SET position = -1 WHERE position = 2"))
    session.execute(text("UPDATE audit_events SET position = 2 WHERE position = 5"))
    session.execute(text("UPDATE audit_events SET position = 5 WHERE position = -1"))
    session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "the tree node over positions 2-3" in result.output
    assert f"events {ids[5]}, {ids[3]}" in result.output  # event 5's now stands at position 2


def test_a_forged_checkpoint_is_named(session, runner):
    _events(session, 3)
    _run(session)
    checkpoint = session.scalars(select(AuditCheckpoint)).one()
    lines = checkpoint.note.split("\n")
    lines[1] = "2"  # claims a smaller tree, keeping the signature
    session.execute(
        text("UPDATE audit_checkpoints SET note = :n WHERE id = :id"),
        {"n": "\n".join(lines), "id": checkpoint.id},
    )
    session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"checkpoint {checkpoint.id}: its signed note is not valid" in result.output


def test_a_checkpoint_signed_by_an_unknown_key_is_named(session, runner):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    _events(session, 2)
    _run(session)
    checkpoint = session.scalars(select(AuditCheckpoint)).one()
    _, origin = checkpoints.log_signer(current_app.config)
    body = checkpoint.note.split("\n\n")[0] + "\n"
    forged = checkpoints.sign_note(body, origin, ed25519.Ed25519PrivateKey.generate())
    session.execute(
        text("UPDATE audit_checkpoints SET note = :n WHERE id = :id"),
        {"n": forged, "id": checkpoint.id},
    )
    session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "no signature by a known key" in result.output


def test_events_written_after_a_checkpoint_are_sequenced_by_the_next_run(session):
    _events(session, 3)
    first = _run(session)
    _events(session, 4, start=3)
    second = _run(session)
    assert (first.sequenced, second.sequenced) == (3, 4)
    assert second.checkpoint is not None and second.checkpoint.tree_size == 7
    assert _run(session).checkpoint is None  # nothing new: no new checkpoint


def test_a_rotated_audit_key_keeps_verifying_old_checkpoints(session, runner):
    _events(session, 2)
    _run(session)
    keyring, _ = checkpoints.log_signer(current_app.config)
    keyring.rotate()
    _events(session, 2, start=2)
    _run(session)
    assert _verify(runner).exit_code == 0
    listed = runner.invoke(args=["keys", "list"])
    assert "audit    Ed25519" in listed.output and "retired" in listed.output


_KILLED_MID_BATCH = textwrap.dedent(
    """
    import os, signal
    from eta import create_app
    from eta.audit import sequencer
    from eta.extensions import db

    app = create_app()
    with app.app_context():
        session = db.session
        def killed():
            print("holding", flush=True)
            import sys; sys.stdin.readline()   # wait until the test has raced us
            os.kill(os.getpid(), signal.SIGKILL)
        session.commit = killed
        sequencer.sequence_batch(session, 1000)
    """
)


@PG_ONLY
def test_a_sequencer_killed_mid_batch_loses_nothing_and_a_racing_one_skips(session, app):
    _run(session)  # the log's state row exists (the killed one's first commit is its batch's)
    _events(session, 30)
    killed = subprocess.Popen(
        [sys.executable, "-c", _KILLED_MID_BATCH],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert killed.stdout is not None and killed.stdout.readline().strip() == "holding"
        # It has given positions to all 30 and holds the lease: a racing sequencer skips.
        assert sequencer.sequence_batch(session, 1000) is None
        assert killed.stdin is not None
        killed.stdin.write("\n")
        killed.stdin.flush()
        assert killed.wait(timeout=30) == -9
    finally:
        killed.kill()
        killed.communicate()  # closes its pipes
    # The next tick's sequencer finds every event waiting and places each once.
    assert _run(session).sequenced == 30
    positions = session.scalars(select(AuditEvent.position).order_by(AuditEvent.position)).all()
    assert positions == list(range(30))


_WRITER = textwrap.dedent(
    """
    import sys
    from eta import audit, create_app
    from eta.audit import sequencer
    from eta.audit.checkpoints import log_signer
    from eta.extensions import db

    app = create_app()
    with app.app_context():
        keyring, origin = log_signer(app.config)
        for index in range(40):
            audit.record(db.session, "test.writer", actor="system", object_id=sys.argv[1])
            db.session.commit()
            if index % 10 == 0:
                sequencer.run(db.session, keyring, origin)
    """
)


@PG_ONLY
def test_concurrent_writers_and_sequencers_in_several_processes_leave_no_gap(session, runner):
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(n)], env=os.environ.copy())
        for n in range(4)
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    _run(session)
    count = session.scalar(select(func.count()).select_from(AuditEvent))
    positions = session.scalars(select(AuditEvent.position).order_by(AuditEvent.position)).all()
    assert count == 160 and positions == list(range(160))
    result = _verify(runner)
    assert result.exit_code == 0, result.output
