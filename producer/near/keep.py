"""Which file of a near-duplicate group to keep, and why. Pure numpy over a HashIndex.

`original` (the default) keeps what a person would keep: a picture over a copy of it inside a frame
(letterbox bars, a viewer window: the phash-regions content hash says a frame was found, and the content
is another member's picture, or most members have no frame; a picture with flat borders of its own is
"framed" in all its copies and loses nothing by it), then a full-size picture (at least 95 % of the largest
unframed member's pixels: a resized, cropped or turned copy has fewer), then among those the most bytes per
pixel (a recompressed or greyscaled copy of the same size takes fewer: one byte of grey instead of three of
colour; letterbox bars too thin to be found as a frame add pixels but few bytes), then the most pixels, then
the oldest. The other policies rank by one property: `largest` (pixels, then oldest), `biggest-file`,
`oldest`, `newest`. Remaining ties go to the earlier file in the index.
"""

from __future__ import annotations

import numpy as np

from producer.near.defaults import DEFAULT_HASH, KEEP_POLICIES
from producer.near.hashindex import HashIndex
from producer.near.regions import CONTENT, REGIONS_HASH, framed


def _framed(index: HashIndex, members: np.ndarray) -> np.ndarray:
    if REGIONS_HASH not in index.hashes:
        return np.zeros(len(members), bool)
    return framed(index.hashes[REGIONS_HASH][members])


#: A framed member's content this close to a smaller member's whole picture holds that picture in a frame.
FRAMED_COPY_DISTANCE = 6
#: Members with at least this share of the largest unframed member's pixels count as full size: among them the
#: most bytes per pixel wins (thin letterbox bars that were not found as a frame add pixels, not bytes).
SAME_SIZE = 0.95


def _framed_copies(index: HashIndex, members: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Bools: the members that hold another, smaller member's whole picture inside a frame (a screenshot,
    letterbox bars): a frame found, and either the content's hash within FRAMED_COPY_DISTANCE of that
    member's whole-picture hash or most members without a frame. A picture with flat borders of its own is
    framed in most of its copies, none of which holds another."""
    inside = _framed(index, members)
    if not inside.any() or DEFAULT_HASH not in index.hashes or 2 * inside.sum() < len(members):
        return inside
    content = index.hashes[REGIONS_HASH][members][:, CONTENT]
    full = index.hashes[DEFAULT_HASH][members]
    near = np.bitwise_count(content[:, None] ^ full[None, :]) <= FRAMED_COPY_DISTANCE
    return inside & (near & (pixels[None, :] < pixels[:, None])).any(axis=1)


def _ranking(index: HashIndex, members: np.ndarray, policy: str) -> tuple[np.ndarray, ...]:
    """Sort keys, most important first (smaller is better)."""
    pixels = index.widths[members] * index.heights[members]
    mtimes = index.mtimes[members]
    if policy == "original":
        density = index.sizes[members] / np.maximum(pixels, 1)
        framed_ = _framed_copies(index, members, pixels)
        top = pixels >= SAME_SIZE * pixels[~framed_].max(initial=0)
        return framed_, ~top, -density, -pixels, mtimes
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
        "original": ("another file's picture in a frame", f"under {SAME_SIZE:.0%} of the largest file's pixels",
                     "fewer bytes per pixel", "fewer pixels", "newer"),
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
