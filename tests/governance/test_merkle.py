"""governance.merkle against the Certificate Transparency reference vectors (RFC 6962's
test data), then every proof of every small tree, both ways."""

import pytest

from governance import merkle

LEAF_DATA = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
LEAVES = [merkle.leaf_hash(bytes.fromhex(d)) for d in LEAF_DATA]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
H = {
    "a": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "b": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "c": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    "d": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "e": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "f": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
}
INCLUSION = [  # (leaf index, tree size, proof)
    (0, 8, [H["a"], H["b"], H["c"]]),
    (5, 8, [H["d"], H["e"], ROOTS[4]]),
    (2, 3, [ROOTS[2]]),
    (1, 5, [ROOTS[1], H["b"], H["d"]]),
]
CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, [H["a"], H["b"], H["c"]]),
    (6, 8, [H["f"], H["e"], ROOTS[4]]),
    (2, 5, [H["b"], H["d"]]),
]


def hexes(hashes):
    return [h.hex() for h in hashes]


def test_roots_match_rfc_6962():
    for size, expected in enumerate(ROOTS):
        assert merkle.root(LEAVES[:size]).hex() == expected, size


@pytest.mark.parametrize("index,size,proof", INCLUSION)
def test_inclusion_proofs_match_the_reference(index, size, proof):
    assert hexes(merkle.inclusion_proof(index, LEAVES[:size])) == proof
    root = bytes.fromhex(ROOTS[size])
    assert merkle.verify_inclusion(
        index, size, LEAVES[index], [bytes.fromhex(p) for p in proof], root
    )


@pytest.mark.parametrize("old,new,proof", CONSISTENCY)
def test_consistency_proofs_match_the_reference(old, new, proof):
    assert hexes(merkle.consistency_proof(old, LEAVES[:new])) == proof
    assert merkle.verify_consistency(
        old,
        new,
        bytes.fromhex(ROOTS[old]),
        bytes.fromhex(ROOTS[new]),
        [bytes.fromhex(p) for p in proof],
    )


def test_every_proof_of_every_small_tree_verifies_and_a_wrong_one_does_not():
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(40)]
    for size in range(1, 41):
        tree = leaves[:size]
        top = merkle.root(tree)
        for index in range(size):
            proof = merkle.inclusion_proof(index, tree)
            assert merkle.verify_inclusion(index, size, tree[index], proof, top)
            stranger = merkle.leaf_hash(b"an event that is not in the log")
            assert not merkle.verify_inclusion(index, size, stranger, proof, top)
            if proof:
                bent = [bytes(32)] + proof[1:]
                assert not merkle.verify_inclusion(index, size, tree[index], bent, top)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(old, tree)
            old_root = merkle.root(tree[:old])
            assert merkle.verify_consistency(old, size, old_root, top, proof), (old, size)
            if old < size:
                assert not merkle.verify_consistency(old, size, bytes(32), top, proof)
                other = merkle.root(tree[: old - 1] + [merkle.leaf_hash(b"forged")])
                assert not merkle.verify_consistency(old, size, other, top, proof)


def test_streamed_root_equals_the_recursive_definition():
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(100)]
    builder = merkle.RootBuilder()
    for i, leaf in enumerate(leaves, start=1):
        builder.add(leaf)
        assert builder.root() == _recursive_mth(leaves[:i])


def _recursive_mth(leaves):
    if not leaves:
        return merkle.EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(_recursive_mth(leaves[:k]), _recursive_mth(leaves[k:]))


def test_proof_tree_gives_the_same_paths():
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(37)]
    for size in range(1, 38):
        tree = merkle.ProofTree(leaves[:size])
        for index in range(size):
            assert tree.inclusion_proof(index) == merkle.inclusion_proof(index, leaves[:size])


# --- Range proofs ---------------------------------------------------------------------------


def _range_proof_by_definition(lo, hi, leaves):
    """The definition, written independently: the maximal subtrees outside [lo, hi), left
    to right, found by recursion over the RFC 6962 split."""
    n = len(leaves)
    if hi <= 0 or lo >= n:
        return [_recursive_mth(leaves)]
    if lo <= 0 and n <= hi:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    return _range_proof_by_definition(lo, hi, leaves[:k]) + _range_proof_by_definition(
        lo - k, hi - k, leaves[k:]
    )


def test_every_range_proof_of_every_small_tree_verifies_and_a_wrong_one_does_not():
    import hashlib

    leaves = [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(40)]
    wrong = merkle.leaf_hash(b"forged")
    for n in range(1, 41):
        tree = leaves[:n]
        root = merkle.root(tree)
        proof_tree = merkle.ProofTree(tree)
        for lo in range(n):
            for hi in range(lo + 1, n + 1):
                proof = merkle.range_proof(lo, hi, tree)
                assert proof == _range_proof_by_definition(lo, hi, tree)
                assert proof_tree.range_proof(lo, hi) == proof
                span = tree[lo:hi]
                assert merkle.verify_range(lo, n, span, proof, root), (lo, hi, n)
                # A changed leaf anywhere in the range.
                for j in {0, len(span) // 2, len(span) - 1}:
                    forged = [*span[:j], wrong, *span[j + 1 :]]
                    assert not merkle.verify_range(lo, n, forged, proof, root)
                # A changed, missing, extra or reordered proof hash.
                for j in range(len(proof)):
                    bad = [*proof[:j], wrong, *proof[j + 1 :]]
                    assert not merkle.verify_range(lo, n, span, bad, root)
                if proof:
                    assert not merkle.verify_range(lo, n, span, proof[:-1], root)
                    if len(proof) > 1 and proof[0] != proof[-1]:
                        assert not merkle.verify_range(lo, n, span, proof[::-1], root)
                assert not merkle.verify_range(lo, n, span, [*proof, wrong], root)
                # The same leaves claimed at another place, a dropped or an extra leaf.
                if lo + 1 + len(span) <= n:
                    assert not merkle.verify_range(lo + 1, n, span, proof, root)
                if len(span) > 1:
                    assert not merkle.verify_range(lo, n, span[:-1], proof, root)
                    assert not merkle.verify_range(lo, n, span[1:], proof, root)
                if hi < n:
                    assert not merkle.verify_range(lo, n, [*span, tree[hi]], proof, root)
                # (The tree size is not checked here: the verifier takes it from the
                # signed tree head, as it takes the root.)


def test_range_proof_refuses_an_empty_or_outside_range():
    for lo, hi, n in [(0, 0, 4), (2, 2, 4), (3, 2, 4), (0, 5, 4), (-1, 2, 4)]:
        with pytest.raises(ValueError):
            merkle.range_proof(lo, hi, LEAVES[:n])
    assert merkle.range_root(0, 4, [], []) is None
    assert merkle.range_root(3, 4, LEAVES[:2], []) is None
