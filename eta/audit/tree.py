"""RFC 9162 §2.1 Merkle tree hashes, inclusion and consistency proofs, and their verification.

Pure functions over a source of complete-subtree hashes (`Nodes`), so the same code serves the
database (stored nodes, eta.audit.store) and memory (a list of leaf hashes, `LeafList`).
Every subtree the RFC's recursion visits starts at a multiple of its largest power of two, so
each one is a stored node or splits into stored nodes: a proof reads O(log² n) of them at most.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
# MTH({}) = SHA-256() (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(Exception):
    """A proof was asked for sizes or an index that the tree does not have."""


def leaf_hash(body: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(LEAF_PREFIX + body).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split(n: int) -> int:
    """k, the largest power of two smaller than n (n > 1), where RFC 9162 splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


class Nodes(Protocol):
    """Where complete subtrees' hashes come from: node(level, index) covers leaves
    [index·2^level, (index+1)·2^level)."""

    def node(self, level: int, index: int) -> bytes:
        """The hash of one complete subtree that exists in the tree."""
        ...


def subtree_hash(nodes: Nodes, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion reaches (start aligned to its split)."""
    size = end - start
    if size <= 0:
        raise ProofError("an empty range has no subtree")
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        return nodes.node(level, start >> level)
    k = split(size)
    return node_hash(subtree_hash(nodes, start, start + k), subtree_hash(nodes, start + k, end))


def root(nodes: Nodes, size: int) -> bytes:
    """MTH(D[size]): the root of the tree of the first `size` leaves."""
    return EMPTY_ROOT if size == 0 else subtree_hash(nodes, 0, size)


def inclusion_proof(nodes: Nodes, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) (RFC 9162 §2.1.3.1), the leaf's sibling first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    # The recursion, unrolled from the root down; siblings are collected root-first.
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            proof.append(subtree_hash(nodes, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(nodes, start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(nodes: Nodes, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1); empty when the sizes are equal."""
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    proof: list[bytes] = []

    def subproof(m: int, start: int, end: int, complete: bool) -> None:
        n = end - start
        if m == n:
            if not complete:
                proof.append(subtree_hash(nodes, start, end))
            return
        k = split(n)
        if m <= k:
            subproof(m, start, start + k, complete)
            proof.append(subtree_hash(nodes, start + k, end))
        else:
            subproof(m - k, start + k, end, False)
            proof.append(subtree_hash(nodes, start, start + k))

    subproof(old_size, 0, new_size, True)
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show `leaf` at `index` in the tree `expected_root`?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show the tree `old_root` is a prefix of `new_root`?"""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the proof's first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class LeafList:
    """Nodes computed from leaf hashes held in memory (tests, offline tools, small trees)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self._leaves = leaves
        self._cache: dict[tuple[int, int], bytes] = {}

    def node(self, level: int, index: int) -> bytes:
        """The complete subtree's hash, computed from its leaves once."""
        if level == 0:
            return self._leaves[index]
        key = (level, index)
        cached = self._cache.get(key)
        if cached is None:
            cached = node_hash(self.node(level - 1, 2 * index), self.node(level - 1, 2 * index + 1))
            self._cache[key] = cached
        return cached


class Frontier:
    """The right edge of a growing tree: the hash of each maximal complete subtree.

    Appending a leaf completes the nodes it closes (reported to `completed`, for storing or
    checking); `root()` folds the edge into MTH of the leaves so far. O(log n) memory.
    """

    def __init__(self, size: int = 0, edge: Iterable[bytes] = ()) -> None:
        self.size = size
        # Hashes of the maximal complete subtrees, left to right (largest first).
        self.edge = list(edge)
        if len(self.edge) != size.bit_count():
            raise ValueError("a frontier has one subtree per set bit of its size")

    def append(
        self, leaf: bytes, completed: Callable[[int, int, bytes], None] | None = None
    ) -> None:
        """Add the next leaf; call `completed(level, index, hash)` for each node it completes."""
        position = self.size
        h = leaf
        level = 0
        while position & 1:
            h = node_hash(self.edge.pop(), h)
            level += 1
            position >>= 1
            if completed is not None:
                completed(level, position, h)
        self.edge.append(h)
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        if not self.edge:
            return EMPTY_ROOT
        h = self.edge[-1]
        for left in reversed(self.edge[:-1]):
            h = node_hash(left, h)
        return h


def frontier_keys(size: int) -> list[tuple[int, int]]:
    """(level, index) of each maximal complete subtree of a tree of `size` leaves, left first."""
    keys = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    return keys
