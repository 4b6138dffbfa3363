"""The band hash of a video frame (tasks/video/band.py): the phash of the middle half of its height, which an
overlay in a corner or along the top or bottom edge leaves alone."""

from __future__ import annotations

import cv2
import numpy as np

from tasks.image.phash import phash_bits
from tasks.video.band import BAND_BOX, band_phash


def frame(seed: int = 0, size=(320, 180)) -> np.ndarray:
    """A gray frame of smooth random blobs."""
    small = np.random.default_rng(seed).integers(0, 256, (5, 8), dtype=np.uint8)
    return cv2.resize(small, size, interpolation=cv2.INTER_CUBIC)


def test_a_box_over_any_corner_leaves_the_band_hash_as_it_was():
    gray = frame()
    h, w = gray.shape
    top, bottom = int(BAND_BOX[0] * h), int(BAND_BOX[1] * h)
    for rows in (slice(0, top), slice(bottom, h)):
        for cols in (slice(0, w // 3), slice(w - w // 3, w)):
            boxed = gray.copy()
            boxed[rows, cols] = 255
            assert band_phash(boxed) == band_phash(gray)


def test_the_band_hash_is_a_64_bit_phash_of_the_middle_half_of_the_height():
    gray = frame(3)
    h = gray.shape[0]
    middle = gray[h // 4 : 3 * h // 4].astype(np.float64)
    thumb = cv2.resize(middle, (32, 32), interpolation=cv2.INTER_AREA)
    expected = int.from_bytes(np.packbits(phash_bits(thumb, 8).ravel()).tobytes(), "big")
    assert (band_phash(gray) ^ expected).bit_count() <= 2
    assert 0 < band_phash(gray) < 2**64


def test_a_mirrored_frame_has_another_band_hash():
    gray = frame(5)
    assert (band_phash(gray) ^ band_phash(np.ascontiguousarray(gray[:, ::-1]))).bit_count() > 16
