"""Every hash a job asks for, from one decode of an image's bytes: dhash, phash, centre-crop phash, the
region phashes, the quality score and the image's size. Pure: bytes in, bits out; no files, no Celery.

dhash, phash and phash-centre share one reduced decode (tasks/image/decode.py :func:`decode_robust_reduced`);
dhash-classic keeps the original's full decode, so a job mixing it with the others decodes twice.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from tasks.image.areas import LAYOUT_CACHE, Grid, area_grids
from tasks.image.decode import Reduced, decode_classic, decode_color, decode_robust_reduced
from tasks.image.dhash import dhash_classic_bits, dhash_grid, dhash_of_grid, pack_bits
from tasks.image.frames import frame_box
from tasks.image.phash import (
    CENTRE_MARGIN,
    HIGHFREQ_FACTOR,
    QUALITY_GRID,
    phash_bits_of,
    quality,
    thumbnail_grids,
)
from tasks.image.regions import (
    REGION_HASH_SIZE,
    pack_regions,
    region_grids,
    region_source,
    region_thumbnails,
)

#: A reduced JPEG decode keeps at least this many pixels per hash-grid column on its short side
#: (1/8 scale from a 576 px short side at hash size 8). Measured on the 1,008 camera JPEGs of bench/:
#: at 8, 86.1 % of hashes equal the full-decode hash and 97.0 % are within 1 bit, at 1.05x the time of
#: the bare 1/8 decode; at 16 (1/4 scale for most of them) about 89 % / 98 % (a third of the files) at
#: 2.3x the time. Two full-size decodes with libjpeg's fast and accurate IDCTs already disagree on 6.6 %
#: of these files: the flips sit on near-ties between adjacent cells.
MIN_PIXELS_PER_CELL = 8
#: Algorithms computed from the reduced decode.
REDUCED_ALGOS = ("dhash", "phash", "phash-centre")


@dataclasses.dataclass(frozen=True)
class ImageHashes:
    """The hashes of one image (bool grids, packed with tasks.image.dhash.pack_bits; None when not asked for) and
    its quality 0..100 (scored with the phash thumbnail, so None when no phash was asked for)."""

    dhash: np.ndarray | None
    phash: np.ndarray | None
    #: phash of the image with tasks.image.phash.CENTRE_MARGIN cut from every border: compared with another
    #: image's full phash it finds border crops of that size.
    centre_phash: np.ndarray | None
    quality: int | None


def hashes_of_reduced(reduced: Reduced, hash_size: int = 8, want: tuple[str, ...] = REDUCED_ALGOS) -> ImageHashes:
    """The hashes in `want` of an already-decoded image (see tasks.image.decode.decode_robust_reduced)."""
    return hashes_and_regions(reduced, hash_size, want, regions=False)[0]


def hashes_and_regions(
    reduced: Reduced, hash_size: int, want: tuple[str, ...], regions: bool
) -> tuple[ImageHashes, bytes | None]:
    """The hashes in `want` and, if `regions`, the packed region phashes (tasks/image/regions.py) of an
    already-decoded image, every area grid they read taken in one pass over its pixels."""
    grids = _grids(hash_size, "dhash" in want, "phash" in want or "phash-centre" in want)
    boxes: tuple[Grid, ...] = ()
    if regions:
        frame = frame_box(reduced)
        boxes = region_grids(reduced, frame, HIGHFREQ_FACTOR * REGION_HASH_SIZE)
        source = region_source(reduced)
    shared = regions and source is reduced  # else the regions come from a smaller copy of a huge decode
    together = tuple(dict.fromkeys(grids + boxes)) if shared else grids  # the 32 x 32 whole picture is in both
    small = dict(zip(together, area_grids(reduced.image, reduced.scale, reduced.height, reduced.width, together),
                     strict=True))
    region_thumbs: list[np.ndarray] = []
    if regions:
        region_averages = [small[grid] for grid in boxes] if shared else area_grids(
            source.image, source.scale, source.height, source.width, boxes)
        region_thumbs = region_thumbnails(region_averages, reduced.height, reduced.width)
    hashes, region_bits = _hashes_of_grids(small, hash_size, want, region_thumbs)
    return hashes, pack_regions(region_bits, frame is not None) if regions else None


def _hashes_of_grids(small: dict[Grid, np.ndarray], hash_size: int, want: tuple[str, ...],
                     region_thumbs: list[np.ndarray]) -> tuple[ImageHashes, np.ndarray | None]:
    """The hashes in `want` from the area grids of :func:`_grids`, and the region phash bits of
    `region_thumbs` (None without them): at hash size REGION_HASH_SIZE the whole picture's thumbnails and
    the regions' go through one DCT (a call costs more than its arithmetic on 10 thumbnails)."""
    dhash = phash = centre = score = None
    if "dhash" in want:
        dhash = dhash_of_grid(small[dhash_grid(hash_size)])
    thumbs = []
    if "phash" in want or "phash-centre" in want:
        thumbs = [small[grid] for grid in thumbnail_grids(HIGHFREQ_FACTOR * hash_size, (0.0, CENTRE_MARGIN))]
        score = quality(small[thumbnail_grids(QUALITY_GRID)[0]])
    together = hash_size == REGION_HASH_SIZE
    bits = phash_bits_of(thumbs + region_thumbs if together else thumbs, hash_size) if thumbs else None
    if thumbs:
        phash = bits[0] if "phash" in want else None
        centre = bits[1] if "phash-centre" in want else None
    region_bits = None
    if region_thumbs:
        region_bits = bits[len(thumbs):] if thumbs and together else phash_bits_of(region_thumbs, REGION_HASH_SIZE)
    return ImageHashes(dhash=dhash, phash=phash, centre_phash=centre, quality=score), region_bits


@functools.lru_cache(maxsize=LAYOUT_CACHE)
def _grids(hash_size: int, dhash: bool, phash: bool) -> tuple[Grid, ...]:
    """Every grid the asked-for hashes of `hash_size` read, each once (at hash size 8 the quality grid is
    the phash thumbnail itself), so one area pass serves them all."""
    grids = (dhash_grid(hash_size),) if dhash else ()
    if phash:
        grids += thumbnail_grids(HIGHFREQ_FACTOR * hash_size, (0.0, CENTRE_MARGIN)) + thumbnail_grids(QUALITY_GRID)
    return tuple(dict.fromkeys(grids))


def decode_reduced(data: bytes, hash_size: int) -> Reduced:
    """The reduced decode every robust hash of a `hash_size` job is computed from."""
    return decode_robust_reduced(data, MIN_PIXELS_PER_CELL * (hash_size + 1))


def hash_image(data: bytes, hash_size: int = 8) -> ImageHashes:
    """Decode `data` once and compute dhash, phash, centre phash and quality.

    Raises tasks.errors.FileUnreadable for a file that cannot be decoded, like the other hashers.
    """
    return hashes_of_reduced(decode_reduced(data, hash_size), hash_size)


def robust_bits(data: bytes, hash_size: int) -> np.ndarray:
    """The robust dhash alone (`--algo dhash`)."""
    return hashes_of_reduced(decode_reduced(data, hash_size), hash_size, ("dhash",)).dhash


def pdq_bits(data: bytes) -> tuple[np.ndarray, int, tuple[int, int]]:
    """PDQ's 256 bits (as a 16x16 grid, first bit first), its own quality (0-100) and the image's (height,
    width), from a full colour decode. Needs the optional `pdqhash` package (`hashfleet[pdq]`)."""
    import pdqhash  # optional: only jobs asking for pdq load it (ImportError: an `internal` record, logged)

    rgb = np.ascontiguousarray(decode_color(data)[..., ::-1])
    vector, score = pdqhash.compute(rgb)
    return np.asarray(vector, bool).reshape(16, 16), int(score), rgb.shape[:2]


@dataclasses.dataclass(frozen=True)
class Hashed:
    """What a job records of one decoded image: every asked-for hash packed side by side in the order
    asked, the quality score (None when no asked-for algorithm scores one) and the image's width and height."""

    packed: bytes
    quality: int | None
    width: int
    height: int


def hash_data(data: bytes, algos: tuple[str, ...], hash_size: int) -> Hashed:
    """Hash `data` with each of `algos` (tasks/image/algos.py), decoding it once per decoder they need."""
    bits: dict[str, np.ndarray] = {}
    score: int | None = None
    width = height = 0
    robust = tuple(a for a in algos if a in REDUCED_ALGOS)
    if robust or "phash-regions" in algos:
        reduced = decode_reduced(data, hash_size)
        hashes, regions = hashes_and_regions(reduced, hash_size, robust, "phash-regions" in algos)
        bits.update({"dhash": hashes.dhash, "phash": hashes.phash, "phash-centre": hashes.centre_phash,
                     "phash-regions": regions})
        score = hashes.quality
        width, height = reduced.width, reduced.height
    if "dhash-classic" in algos:
        gray = decode_classic(data)
        bits["dhash-classic"] = dhash_classic_bits(gray, hash_size)
        height, width = gray.shape[:2]
    if "pdq" in algos:
        bits["pdq"], pdq_quality, (height, width) = pdq_bits(data)
        score = pdq_quality if score is None else score
    return Hashed(
        b"".join(bits[a] if isinstance(bits[a], bytes) else pack_bits(bits[a]) for a in algos), score, width, height
    )
