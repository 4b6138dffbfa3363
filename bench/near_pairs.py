"""Pairwise Hamming distances and the counts the near-duplicate benchmark reports (pure numpy, no files).

A "spec" is a named way to call two files near-duplicates: one hash within K bits, a hash or its
centre-crop variant within K (min over full-vs-full, full-vs-centre, centre-vs-full), or two hashes each
within its own K (AND).
"""

from __future__ import annotations

import numpy as np

#: Rows of the distance matrix computed at once (bounds the temporary N x rows x words array).
BLOCK = 256


def to_words(hexes: list[str]) -> np.ndarray:
    """(N x words) uint64 from equal-length hex strings; an empty string (no hash) becomes all zeros."""
    width = max(len(h) for h in hexes)
    raw = b"".join(bytes.fromhex(h) if h else bytes(width // 2) for h in hexes)
    return np.frombuffer(raw, ">u8").reshape(len(hexes), -1).astype(np.uint64)


def distances(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """(N x N) uint16 Hamming distances between the rows of `a` and of `b` (default `a`)."""
    b = a if b is None else b
    out = np.empty((len(a), len(b)), np.uint16)
    for start in range(0, len(a), BLOCK):
        xor = a[start : start + BLOCK, None, :] ^ b[None, :, :]
        out[start : start + BLOCK] = np.bitwise_count(xor).sum(axis=2, dtype=np.uint16)
    return out


def with_centre(full: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Distances where either file may be a border crop of the other: min(full-full, full-centre,
    centre-full)."""
    cross = distances(full, centre)
    return np.minimum(distances(full), np.minimum(cross, cross.T))


def cumulative_pairs(dist: np.ndarray, mask: np.ndarray, top: int) -> np.ndarray:
    """counts[k] = pairs (i < j) within `mask` whose distance is <= k, for k in 0..top."""
    upper = np.triu(mask, 1)
    return np.cumsum(np.bincount(np.minimum(dist[upper], top + 1), minlength=top + 2)[: top + 1])


def cumulative_pairs_2d(first: np.ndarray, second: np.ndarray, mask: np.ndarray, top: int) -> np.ndarray:
    """counts[k1, k2] = pairs (i < j) within `mask` with first <= k1 and second <= k2 (k up to `top`)."""
    upper = np.triu(mask, 1)
    span = top + 2
    flat = np.minimum(first[upper], top + 1).astype(np.int64) * span + np.minimum(second[upper], top + 1)
    grid = np.bincount(flat, minlength=span * span).reshape(span, span)[: top + 1, : top + 1]
    return grid.cumsum(axis=0).cumsum(axis=1)
