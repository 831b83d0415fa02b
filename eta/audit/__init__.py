"""The audit log: a Merkle tree log (RFC 9162) of audit events, with signed checkpoints.

Callers append with `record()` / `append()` in their own transaction (eta.audit.append); the
sequencer (eta.audit.sequencer) places committed events in the tree and signs checkpoints
(eta.audit.checkpoints); proofs and the full check live in eta.audit.proofs and eta.audit.verify.
"""

from eta.audit.append import Entry, append, body, record

__all__ = ["Entry", "append", "body", "record"]
