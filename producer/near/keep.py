"""Which file of a near-duplicate group to keep, and why. Pure numpy over a HashIndex.

`original` (the default) keeps what a person would keep: a picture without a frame (letterbox bars, a
viewer window: the phash-regions content hash says a frame was found) over a framed one, then the most
pixels (a resized, cropped or turned copy has fewer), then the most bytes per pixel (a recompressed or
greyscaled copy of the same size takes fewer: one byte of grey instead of three of colour), then the
oldest. The other policies rank by one property: `largest` (pixels, then oldest), `biggest-file`,
`oldest`, `newest`. Remaining ties go to the earlier file in the index.
"""

from __future__ import annotations

import numpy as np

from producer.near.defaults import KEEP_POLICIES
from producer.near.hashindex import HashIndex
from producer.near.regions import REGIONS_HASH, framed


def _framed(index: HashIndex, members: np.ndarray) -> np.ndarray:
    if REGIONS_HASH not in index.hashes:
        return np.zeros(len(members), bool)
    return framed(index.hashes[REGIONS_HASH][members])


def _ranking(index: HashIndex, members: np.ndarray, policy: str) -> tuple[np.ndarray, ...]:
    """Sort keys, most important first (smaller is better)."""
    pixels = index.widths[members] * index.heights[members]
    mtimes = index.mtimes[members]
    if policy == "original":
        density = index.sizes[members] / np.maximum(pixels, 1)
        return _framed(index, members), -pixels, -density, mtimes
    return {
        "largest": (-pixels, mtimes),
        "biggest-file": (-index.sizes[members],),
        "oldest": (mtimes,),
        "newest": (-mtimes,),
    }[policy]


def choose_keeper(index: HashIndex, members: np.ndarray, policy: str) -> int:
    """The member to keep under `policy` (one of KEEP_POLICIES)."""
    if policy not in KEEP_POLICIES:
        raise ValueError(f"--keep must be one of {', '.join(KEEP_POLICIES)}")
    keys = _ranking(index, members, policy)
    return int(members[np.lexsort((members, *reversed(keys)))[0]])


def reasons(index: HashIndex, members: np.ndarray, keeper: int, policy: str) -> dict[int, str]:
    """{member: why it is kept, or why the kept file was preferred to it} under `policy`."""
    names = {
        "original": ("framed", "fewer pixels", "fewer bytes per pixel", "newer"),
        "largest": ("fewer pixels", "newer"),
        "biggest-file": ("fewer bytes",),
        "oldest": ("newer",),
        "newest": ("older",),
    }[policy]
    keys = _ranking(index, members, policy)
    k = int(np.flatnonzero(members == keeper)[0])
    pixels = int(index.widths[keeper] * index.heights[keeper])
    out = {
        keeper: f"kept ({policy}): {pixels / 1e6:.2f} MP, {index.sizes[keeper] / max(pixels, 1):.2f} bytes/pixel"
        + (", framed" if _framed(index, np.array([keeper]))[0] else "")
    }
    for n, m in enumerate(members.tolist()):
        if m == keeper:
            continue
        first = next((name for key, name in zip(keys, names, strict=True) if key[n] != key[k]), "index order")
        out[m] = first
    return out
