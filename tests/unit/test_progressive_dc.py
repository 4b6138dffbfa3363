"""Progressive JPEGs at 1/8 scale are decoded from their DC scans alone; anything else is left whole."""

import cv2
import numpy as np
import pytest

from support.hexhash import hamming, to_hex
from support.images import DATA, pillow_bytes
from tasks.errors import FileError, FileUnreadable
from tasks.image.decode import decode_robust, decode_robust_reduced
from tasks.image.dhash import dhash_bits, dhash_bits_reduced, pack_bits
from tasks.image.jpeg import dc_scans_only


@pytest.fixture(scope="module")
def big_photo():
    return cv2.resize(cv2.imread(f"{DATA}/butterfly.jpg"), (2400, 1800), interpolation=cv2.INTER_CUBIC)


def test_a_progressive_jpeg_keeps_only_its_dc_scans_and_still_decodes_at_one_eighth(big_photo):
    data = pillow_bytes(big_photo, "JPEG", quality=92, progressive=True)
    dc = dc_scans_only(data)
    assert dc is not None and len(dc) < len(data) / 3
    full = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    only_dc = cv2.imdecode(np.frombuffer(dc, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    assert only_dc.shape == full.shape
    assert np.abs(only_dc.astype(int) - full.astype(int)).mean() < 6  # libjpeg's block smoothing only


def test_the_dc_only_hash_stays_within_a_bit_of_the_full_decode_hash(big_photo):
    for name in ("butterfly.jpg", "home.jpg", "orange.jpg", "aero3.jpg"):
        big = cv2.resize(cv2.imread(f"{DATA}/{name}"), (2400, 1800), interpolation=cv2.INTER_CUBIC)
        data = pillow_bytes(big, "JPEG", quality=92, progressive=True)
        reduced = decode_robust_reduced(data, 144)
        assert reduced.scale == 8
        fast = to_hex(pack_bits(dhash_bits_reduced(reduced.image, 8, reduced.height, reduced.width)))
        assert hamming(fast, to_hex(pack_bits(dhash_bits(decode_robust(data))))) <= 1, name


def test_baseline_jpegs_and_other_bytes_are_left_alone(big_photo):
    assert dc_scans_only(pillow_bytes(big_photo, "JPEG", quality=92)) is None
    assert dc_scans_only(b"\xff\xd8\xff\xe0 not really a jpeg") is None
    assert dc_scans_only(b"") is None


def test_a_truncated_progressive_jpeg_is_still_reported_corrupt(big_photo):
    data = pillow_bytes(big_photo, "JPEG", quality=92, progressive=True)
    for cut in (len(data) // 50, len(data) // 2):
        try:
            decode_robust_reduced(data[:cut], 144)
        except FileUnreadable as exc:
            assert exc.code == FileError.CORRUPT
        else:
            raise AssertionError(f"truncated at {cut} bytes was hashed")
