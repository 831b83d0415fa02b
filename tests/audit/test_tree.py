"""eta.audit.tree against RFC 9162 §2.1, written out here from the RFC's own recursive definitions.

The reference functions below follow the RFC's text line by line (MTH, PATH, PROOF/SUBPROOF) over
the leaves' data; ours work from stored subtree hashes. They must agree for every size and index.
"""

from __future__ import annotations

import hashlib

import pytest

from eta.audit import tree


def _mth(data: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(data[:k]) + _mth(data[k:])).digest()


def _path(m: int, data: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1: PATH(m, D[n])."""
    n = len(data)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*_path(m, data[:k]), _mth(data[k:])]
    return [*_path(m - k, data[k:]), _mth(data[:k])]


def _subproof(m: int, data: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1: SUBPROOF(m, D[n], b)."""
    n = len(data)
    if m == n:
        return [] if b else [_mth(data)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*_subproof(m, data[:k], b), _mth(data[k:])]
    return [*_subproof(m - k, data[k:], False), _mth(data[:k])]


# The leaves of the Certificate Transparency reference tests, and the roots their trees have.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

DATA = [f"event {i}".encode() for i in range(40)]


def _nodes(data: list[bytes]) -> tree.LeafList:
    return tree.LeafList([tree.leaf_hash(d) for d in data])


def test_roots_match_the_certificate_transparency_reference_vectors():
    for size, expected in enumerate(CT_ROOTS, start=1):
        assert _mth(CT_LEAVES[:size]).hex() == expected  # the reference above is right
        assert tree.root(_nodes(CT_LEAVES[:size]), size).hex() == expected


def test_the_empty_tree_has_the_hash_of_nothing():
    assert tree.root(_nodes([]), 0) == hashlib.sha256(b"").digest()


def test_roots_and_inclusion_proofs_follow_the_rfc_for_every_size_and_leaf():
    for size in range(1, len(DATA) + 1):
        data = DATA[:size]
        nodes = _nodes(data)
        assert tree.root(nodes, size) == _mth(data)
        for index in range(size):
            proof = tree.inclusion_proof(nodes, index, size)
            assert proof == _path(index, data)
            leaf = tree.leaf_hash(data[index])
            assert tree.verify_inclusion(leaf, index, size, proof, _mth(data))
            # The same proof shows nothing about another leaf, index or root.
            assert not tree.verify_inclusion(tree.leaf_hash(b"x"), index, size, proof, _mth(data))
            if size > 1:
                other = (index + 1) % size
                assert not tree.verify_inclusion(leaf, other, size, proof, _mth(data))
                assert not tree.verify_inclusion(leaf, index, size, proof[:-1], _mth(data))


def test_consistency_proofs_follow_the_rfc_for_every_pair_of_sizes():
    for new_size in range(1, len(DATA) + 1):
        nodes = _nodes(DATA[:new_size])
        new_root = _mth(DATA[:new_size])
        for old_size in range(1, new_size + 1):
            proof = tree.consistency_proof(nodes, old_size, new_size)
            assert proof == _subproof(old_size, DATA[:new_size], True)
            old_root = _mth(DATA[:old_size])
            assert tree.verify_consistency(old_size, new_size, old_root, new_root, proof)
            if old_size < new_size:
                forged = _mth([b"rewritten", *DATA[1:old_size]])
                assert not tree.verify_consistency(old_size, new_size, forged, new_root, proof)
                assert not tree.verify_consistency(old_size, new_size, old_root, forged, proof)
                assert not tree.verify_consistency(old_size, new_size, old_root, new_root, [])


def test_a_frontier_grows_the_same_roots_and_reports_each_completed_node():
    frontier = tree.Frontier()
    completed: dict[tuple[int, int], bytes] = {}
    nodes = _nodes(DATA)
    for size, data in enumerate(DATA, start=1):
        frontier.append(tree.leaf_hash(data), lambda lv, ix, h: completed.__setitem__((lv, ix), h))
        assert frontier.root() == _mth(DATA[:size])
        assert len(frontier.edge) == len(tree.frontier_keys(size))
    for (level, index), value in completed.items():
        assert value == nodes.node(level, index)
    assert len(completed) == len(DATA) - len(tree.frontier_keys(len(DATA)))  # n - popcount(n)
    resumed = tree.Frontier(7, [nodes.node(lv, ix) for lv, ix in tree.frontier_keys(7)])
    for data in DATA[7:]:
        resumed.append(tree.leaf_hash(data))
    assert resumed.root() == _mth(DATA)


def test_proofs_for_sizes_the_tree_does_not_have_are_refused():
    nodes = _nodes(DATA[:4])
    with pytest.raises(tree.ProofError):
        tree.inclusion_proof(nodes, 4, 4)
    with pytest.raises(tree.ProofError):
        tree.consistency_proof(nodes, 0, 4)
    with pytest.raises(tree.ProofError):
        tree.consistency_proof(nodes, 5, 4)
