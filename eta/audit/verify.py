"""Check the whole log: every leaf from its body, the tree from the leaves, every checkpoint.

One pass over the events in tree order with O(log n) memory (a frontier): each event's body
must give its leaf hash and match its fields, positions must run 0, 1, 2... without a gap,
each stored tree node must be the hash of the leaves under it, and each checkpoint must be a
valid signed note of an audit key whose size and root are those of the rebuilt tree. The first
problem found is reported, naming the event, tree node or checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select, tuple_

from eta.audit import checkpoints, tree
from eta.audit.append import event_body
from eta.models import AuditCheckpoint, AuditEvent, AuditLogState, AuditTreeNode
from eta.models.base import SessionLike

BATCH_SIZE = 2000


@dataclass(frozen=True)
class Finding:
    """The first thing wrong: an event, a tree node or a checkpoint, by id, and what."""

    kind: str  # "event", "position", "node", "checkpoint"
    id: int | None
    problem: str

    def __str__(self) -> str:
        named = f"{self.kind} {self.id}" if self.id is not None else self.kind
        return f"{named}: {self.problem}"


@dataclass(frozen=True)
class Report:
    """What `verify_log` checked, and the first problem if any."""

    events: int
    sequenced: int
    checkpoints: int
    finding: Finding | None

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return self.finding is None


class _Failed(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(str(finding))
        self.finding = finding


# Rows, not ORM objects: a pass over millions of events keeps nothing in the session.
_EVENT_COLUMNS = (
    AuditEvent.id,
    AuditEvent.position,
    AuditEvent.at,
    AuditEvent.actor,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.details,
    AuditEvent.body,
    AuditEvent.leaf_hash,
)
_CHECKPOINT_COLUMNS = (
    AuditCheckpoint.id,
    AuditCheckpoint.tree_size,
    AuditCheckpoint.root_hash,
    AuditCheckpoint.note,
)


def _checkpoints(session: SessionLike) -> Iterator[Any]:
    last = -1
    while True:
        batch = session.execute(
            select(*_CHECKPOINT_COLUMNS)
            .where(AuditCheckpoint.tree_size > last)
            .order_by(AuditCheckpoint.tree_size)
            .limit(BATCH_SIZE)
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].tree_size


def _check_event(event: Row[Any]) -> None:
    if tree.leaf_hash(event.body.encode()) != bytes(event.leaf_hash):
        raise _Failed(Finding("event", event.id, "its body does not match its leaf hash"))
    if event_body(event) != event.body:
        raise _Failed(Finding("event", event.id, "its fields do not match its body"))


class _Checker:
    def __init__(self, session: SessionLike, origin: str, verifiers: list[checkpoints.Verifier]):
        self.session = session
        self.origin = origin
        self.verifiers = verifiers
        self.frontier = tree.Frontier()
        self.pending = _checkpoints(session)
        self.next_checkpoint = next(self.pending, None)
        self.checked = 0
        # Events of the current batch by position, to name them in a node's finding.
        self.ids: dict[int, int] = {}

    def checkpoint(self, checkpoint: Row[Any]) -> None:
        def failed(problem: str) -> _Failed:
            return _Failed(Finding("checkpoint", checkpoint.id, problem))

        try:
            text, _ = checkpoints.open_note(checkpoint.note, self.verifiers)
            said = checkpoints.parse_checkpoint(text)
        except checkpoints.NoteError as error:
            raise failed(f"its signed note is not valid ({error})") from None
        if said.origin != self.origin:
            raise failed(f"it is for the log {said.origin!r}, not {self.origin!r}")
        if said.size != checkpoint.tree_size or said.root != bytes(checkpoint.root_hash):
            raise failed("its stored size or root differs from what its note signs")
        if said.root != self.frontier.root():
            raise failed(
                f"its root is not the root of the first {said.size} events: the history "
                "before it was rewritten"
            )
        self.checked += 1

    def batch(self, events: Sequence[Row[Any]]) -> None:
        recomputed: dict[tuple[int, int], bytes] = {}

        def completed(level: int, index: int, value: bytes) -> None:
            recomputed[(level, index)] = value

        self.ids = {}
        for event in events:
            expected = self.frontier.size
            if event.position != expected:
                raise _Failed(
                    Finding(
                        "position",
                        expected,
                        f"no event holds it (the next is event {event.id} at position "
                        f"{event.position}): an event was deleted",
                    )
                )
            _check_event(event)
            self.ids[expected] = event.id
            self.frontier.append(tree.leaf_hash(event.body.encode()), completed)
            while (
                self.next_checkpoint is not None
                and self.next_checkpoint.tree_size <= self.frontier.size
            ):
                # Nodes first: a node that does not match names the events, the root would not.
                self._nodes(recomputed)
                recomputed.clear()
                self.checkpoint(self.next_checkpoint)
                self.next_checkpoint = next(self.pending, None)
        self._nodes(recomputed)

    def _nodes(self, recomputed: dict[tuple[int, int], bytes]) -> None:
        if not recomputed:
            return
        stored = {
            (int(level), int(index)): bytes(value)
            for level, index, value in self.session.execute(
                select(AuditTreeNode.level, AuditTreeNode.index, AuditTreeNode.hash).where(
                    tuple_(AuditTreeNode.level, AuditTreeNode.index).in_(list(recomputed))
                )
            )
        }
        for key in sorted(recomputed, key=lambda k: ((k[1] + 1) << k[0], k[0])):
            level, index = key
            if stored.get(key) == recomputed[key]:
                continue
            first, last = index << level, ((index + 1) << level) - 1
            named = ", ".join(
                str(self.ids[p]) for p in range(first, min(last, first + 3) + 1) if p in self.ids
            )
            what = "is missing" if key not in stored else "does not match the events under it"
            raise _Failed(
                Finding(
                    "node",
                    None,
                    f"the tree node over positions {first}-{last} (events {named}"
                    f"{', ...' if last > first + 3 else ''}) {what}: events were reordered, "
                    "replaced or the tree was edited",
                )
            )


def verify_log(session: SessionLike, origin: str, verifiers: list[checkpoints.Verifier]) -> Report:
    """Check the whole log (see the module's docstring) and report the first problem."""
    checker = _Checker(session, origin, verifiers)
    total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    try:
        for event in _unsequenced(session):
            _check_event(event)
        last = -1
        while True:
            events = session.execute(
                select(*_EVENT_COLUMNS)
                .where(AuditEvent.position > last)
                .order_by(AuditEvent.position)
                .limit(BATCH_SIZE)
            ).all()
            if not events:
                break
            checker.batch(events)
            last = int(events[-1].position)
        size = checker.frontier.size
        if checker.next_checkpoint is not None:
            raise _Failed(
                Finding(
                    "checkpoint",
                    checker.next_checkpoint.id,
                    f"it signs {checker.next_checkpoint.tree_size} events, the log holds "
                    f"{size}: events were deleted",
                )
            )
        state = session.get(AuditLogState, 1)
        if state is not None and state.tree_size != size:
            raise _Failed(
                Finding("position", size, f"the log says {state.tree_size} events are sequenced")
            )
    except _Failed as failed:
        return Report(total, checker.frontier.size, checker.checked, failed.finding)
    return Report(total, checker.frontier.size, checker.checked, None)


def verify_configured(session: SessionLike, config: Mapping[str, Any]) -> Report:
    """`verify_log` with the app's origin and audit keys (what `eta audit verify` runs)."""
    keyring, origin = checkpoints.log_signer(config)
    return verify_log(session, origin, checkpoints.verifiers(keyring, origin))


def _unsequenced(session: SessionLike) -> Iterator[Any]:
    last = 0
    while True:
        batch = session.execute(
            select(*_EVENT_COLUMNS)
            .where(AuditEvent.position.is_(None), AuditEvent.id > last)
            .order_by(AuditEvent.id)
            .limit(BATCH_SIZE)
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id
