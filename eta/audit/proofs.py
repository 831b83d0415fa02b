"""Proofs from the stored tree: inclusion of an event, consistency between two checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, tuple_

from eta.audit import checkpoints, tree
from eta.models import AuditCheckpoint, AuditEvent, AuditTreeNode
from eta.models.base import SessionLike


class StoredNodes:
    """Complete subtrees' hashes as the sequencer stored them (leaves: `audit_events`)."""

    def __init__(self, session: SessionLike) -> None:
        self.session = session
        self._cache: dict[tuple[int, int], bytes] = {}

    def preload(self, keys: list[tuple[int, int]]) -> None:
        """Fetch many nodes in two queries (the sequencer's frontier, say)."""
        leaves = [index for level, index in keys if level == 0]
        inner = [(level, index) for level, index in keys if level > 0]
        if leaves:
            for position, value in self.session.execute(
                select(AuditEvent.position, AuditEvent.leaf_hash).where(
                    AuditEvent.position.in_(leaves)
                )
            ):
                self._cache[(0, int(position or 0))] = bytes(value)
        if inner:
            for level, index, value in self.session.execute(
                select(AuditTreeNode.level, AuditTreeNode.index, AuditTreeNode.hash).where(
                    tuple_(AuditTreeNode.level, AuditTreeNode.index).in_(inner)
                )
            ):
                self._cache[(int(level), int(index))] = bytes(value)

    def node(self, level: int, index: int) -> bytes:
        """One stored node; ProofError if the tree has no such node (it was deleted)."""
        key = (level, index)
        if key not in self._cache:
            self.preload([key])
        value = self._cache.get(key)
        if value is None:
            raise tree.ProofError(f"the stored tree has no node at level {level}, index {index}")
        return value


class UnknownSize(LookupError):
    """A tree size that is not the size of a published checkpoint."""


def checkpoint_of_size(session: SessionLike, size: int) -> AuditCheckpoint:
    """The published checkpoint of that size; UnknownSize if there is none."""
    found = session.scalars(
        select(AuditCheckpoint).where(AuditCheckpoint.tree_size == size)
    ).first()
    if found is None:
        raise UnknownSize(f"no checkpoint has tree size {size}")
    return found


def consistency(session: SessionLike, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof between two published checkpoints' trees."""
    checkpoint_of_size(session, old_size)
    checkpoint_of_size(session, new_size)
    if old_size > new_size:
        raise tree.ProofError("the first size must not be larger than the second")
    return tree.consistency_proof(StoredNodes(session), old_size, new_size)


@dataclass(frozen=True)
class InclusionProof:
    """That an event's leaf is in the tree of a signed checkpoint: all a verifier needs."""

    event_id: int
    body: str
    index: int
    tree_size: int
    proof: list[bytes]
    checkpoint: str  # the signed note


def inclusion(session: SessionLike, event_id: int) -> InclusionProof:
    """Prove an event against the latest checkpoint; LookupError if it is not covered yet."""
    event = session.get(AuditEvent, event_id)
    if event is None:
        raise LookupError(f"there is no audit event {event_id}")
    signed = checkpoints.latest(session)
    if event.position is None or signed is None or event.position >= signed.tree_size:
        raise LookupError(f"audit event {event_id} is not in a signed checkpoint yet")
    proof = tree.inclusion_proof(StoredNodes(session), event.position, signed.tree_size)
    return InclusionProof(
        event.id, event.body, event.position, signed.tree_size, proof, signed.note
    )
