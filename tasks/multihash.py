"""Several hashes of one image from a single decode, for the worker side: dhash, phash, centre-crop phash
and the quality score. Pure: bytes in, bits out; no files, no Celery."""

from __future__ import annotations

import dataclasses

import numpy as np

from tasks.decode import Reduced, decode_robust_reduced
from tasks.dhash import dhash_bits_reduced
from tasks.hashing import MIN_PIXELS_PER_CELL
from tasks.phash import (
    CENTRE_MARGIN,
    HIGHFREQ_FACTOR,
    QUALITY_GRID,
    is_low_information,
    phash_bits,
    quality,
    thumbnails,
)


@dataclasses.dataclass(frozen=True)
class ImageHashes:
    """The hashes of one image (bool grids, packed with tasks.dhash.pack_bits) and its quality 0..100."""

    dhash: np.ndarray
    phash: np.ndarray
    #: phash of the image with tasks.phash.CENTRE_MARGIN cut from every border: compared with another
    #: image's full phash it finds border crops of that size.
    centre_phash: np.ndarray
    quality: int

    @property
    def low_information(self) -> bool:
        """Too little detail for its hashes to mean much (tasks.phash.LOW_QUALITY)."""
        return is_low_information(self.quality)


def hashes_of_reduced(reduced: Reduced, hash_size: int = 8) -> ImageHashes:
    """All hashes of an already-decoded image (see tasks.decode.decode_robust_reduced)."""
    side = HIGHFREQ_FACTOR * hash_size
    thumb, centre = thumbnails(reduced, side, (0.0, CENTRE_MARGIN))
    # At hash size 8 the quality grid is the phash thumbnail itself; other sizes pay for one more.
    quality_thumb = thumb if side == QUALITY_GRID else thumbnails(reduced, QUALITY_GRID)[0]
    return ImageHashes(
        dhash=dhash_bits_reduced(reduced.image, reduced.scale, reduced.height, reduced.width, hash_size),
        phash=phash_bits(thumb, hash_size),
        centre_phash=phash_bits(centre, hash_size),
        quality=quality(quality_thumb),
    )


def hash_image(data: bytes, hash_size: int = 8) -> ImageHashes:
    """Decode `data` once, at the reduction `--algo dhash` uses (tasks.hashing.robust_bits), and hash it.

    Raises tasks.decode.DecodeError for a file that cannot be decoded, like the other hashers.
    """
    return hashes_of_reduced(decode_robust_reduced(data, MIN_PIXELS_PER_CELL * (hash_size + 1)), hash_size)
