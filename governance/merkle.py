"""Merkle tree hashes and proofs exactly as RFC 6962 section 2.1 (and RFC 9162 section 2.1)
define them, over SHA-256.

Written here rather than taken from a library because it is small, the offline verifier
(governance/reports/verify.py) must run with the standard library alone, and this module
is copied into nothing: verify.py has its own few lines for the verification half. The
tests check it against the Certificate Transparency reference vectors.

Leaves are given as their leaf hashes (`leaf_hash(data)`), in log order.
"""

import hashlib

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class RootBuilder:
    """MTH over a stream of leaf hashes in O(log n) memory: the stack holds the roots of
    the complete subtrees so far, largest first, which is how RFC 6962 splits a tree."""

    def __init__(self, frontier: list[tuple[int, bytes]] | None = None):
        self._stack: list[tuple[int, bytes]] = list(frontier or [])  # (subtree size, root)
        sizes = [size for size, _ in self._stack]
        if any(s & (s - 1) for s in sizes) or sizes != sorted(sizes, reverse=True):
            raise ValueError("a frontier is complete subtrees, largest first")
        self.size = sum(sizes)

    def frontier(self) -> list[tuple[int, bytes]]:
        return list(self._stack)

    def add(self, leaf: bytes) -> None:
        size, node = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            _, left = self._stack.pop()
            size, node = size * 2, node_hash(left, node)
        self._stack.append((size, node))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


def root(leaves: list[bytes]) -> bytes:
    builder = RootBuilder()
    for leaf in leaves:
        builder.add(leaf)
    return builder.root()


def inclusion_proof(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 2.1.1: the audit path of leaf `index`."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return inclusion_proof(index, leaves[:k]) + [root(leaves[k:])]
    return inclusion_proof(index - k, leaves[k:]) + [root(leaves[:k])]


def consistency_proof(old_size: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 2.1.2, for 0 < m <= n."""
    if not 0 < old_size <= len(leaves):
        raise ValueError(f"no consistency proof from {old_size} to {len(leaves)}")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], complete) + [root(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [root(leaves[:k])]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root_: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2 (plus the trivial cases it leaves to the caller)."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not 0 < old_size < new_size or not proof:
        return False
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node
        proof = [old_root, *proof]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0


class ProofTree:
    """Many inclusion proofs over one tree: subtree roots are remembered, so k proofs in a
    tree of n leaves cost about n + k log n hashes instead of k times n."""

    def __init__(self, leaves: list[bytes]):
        self.leaves = leaves
        self._roots: dict[tuple[int, int], bytes] = {}

    def _root(self, lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return self.leaves[lo]
        key = (lo, hi)
        if key not in self._roots:
            k = _split(hi - lo)
            self._roots[key] = node_hash(self._root(lo, lo + k), self._root(lo + k, hi))
        return self._roots[key]

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The same path as inclusion_proof(index, leaves)."""
        if not 0 <= index < len(self.leaves):
            raise ValueError(f"leaf {index} is not in a tree of {len(self.leaves)}")
        path, lo, hi = [], 0, len(self.leaves)
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self._root(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._root(lo, lo + k))
                lo = lo + k
        return path[::-1]

    def range_proof(self, lo: int, hi: int) -> list[bytes]:
        """The same hashes as range_proof(lo, hi, leaves), from the remembered roots."""
        n = len(self.leaves)
        if not 0 <= lo < hi <= n:
            raise ValueError(f"no range proof for leaves [{lo}, {hi}) of a tree of {n}")
        out: list[bytes] = []
        _range_proof(self, lo, hi, 0, len(self.leaves), out)
        return out


def range_proof(lo: int, hi: int, leaves: list[bytes]) -> list[bytes]:
    """The proof that leaves [lo, hi) are consecutive leaves of the tree over `leaves`: the
    roots of the maximal subtrees that lie wholly outside the range, in the order the RFC
    6962 recursion (left before right) meets them. With the range's own leaves they give
    back the root (`verify_range`). A one-leaf range's proof is the same set of hashes as
    its inclusion proof, in a different order."""
    n = len(leaves)
    if not 0 <= lo < hi <= n:
        raise ValueError(f"no range proof for leaves [{lo}, {hi}) of a tree of {n}")
    return ProofTree(leaves).range_proof(lo, hi)


def _range_proof(tree: "ProofTree", lo: int, hi: int, a: int, b: int, out: list) -> None:
    if b <= lo or a >= hi:
        out.append(tree._root(a, b))
    elif not (lo <= a and b <= hi):
        k = _split(b - a)
        _range_proof(tree, lo, hi, a, a + k, out)
        _range_proof(tree, lo, hi, a + k, b, out)


def range_root(lo: int, size: int, leaves: list[bytes], proof: list[bytes]) -> bytes | None:
    """The root that leaves [lo, lo + len(leaves)) and their range proof give for a tree of
    `size` leaves, or None when the proof does not fit (too short, too long, bad range)."""
    hi = lo + len(leaves)
    if not leaves or not 0 <= lo < hi <= size:
        return None
    hashes = iter(proof)

    def rebuild(a: int, b: int) -> bytes | None:
        if b <= lo or a >= hi:
            return next(hashes, None)
        if b - a == 1:
            return leaves[a - lo]
        k = _split(b - a)
        left = rebuild(a, a + k)
        right = rebuild(a + k, b) if left is not None else None
        return None if right is None else node_hash(left, right)

    result = rebuild(0, size)
    if result is None or next(hashes, None) is not None:
        return None
    return result


def verify_range(lo: int, size: int, leaves: list[bytes], proof: list[bytes], root_: bytes) -> bool:
    """True if `leaves` are leaves [lo, lo + len(leaves)) of the tree of `size` with `root_`."""
    return range_root(lo, size, leaves, proof) == root_
