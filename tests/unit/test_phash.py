"""DCT perceptual hash, centre-crop hash and quality score: golden values, properties, errors."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from support.hexhash import hamming, to_hex
from support.images import DATA, encode
from tasks.image.areas import area_grid
from tasks.image.decode import Reduced, decode_robust_reduced
from tasks.image.dhash import pack_bits
from tasks.image.multihash import hash_image, hashes_of_reduced, robust_bits
from tasks.image.phash import LOW_QUALITY, QUALITY_DIVISOR, is_low_information, phash_bits, quality, thumbnails

#: (phash hex, centre-crop phash hex, quality) of the committed images, as hash_image(file bytes) computed
#: them when the algorithm was written (python -c "from tasks.image.multihash import hash_image; ..." over
#: tests/data/images). A change here changes every stored phash: it needs a reason, not a re-pin.
GOLDEN = {
    "HappyFish.jpg": ("ee1993c70d9ba425", "e61992c50b9bad8d", 100),
    "aero3.jpg": ("ddf384d3c4b4b221", "dcf38cd3c49491b1", 100),
    "butterfly.jpg": ("a0c3e41f52f43dc5", "e8c3e00f56363ccd", 100),
    "home.jpg": ("ad770860d6b9e352", "ad770a7097b96252", 100),
    "imageTextN.png": ("bfe695c49181c0db", "bf64bba4b5a0e490", 100),
    "mask.png": ("fd258076cf606f60", "ff2b80358274c774", 100),
    "opencv-logo-white.png": ("ec34b16346968b73", "ec3cbb6844971bb0", 100),
    "orange.jpg": ("95af68c5219627f4", "95abeac5e817a816", 100),
    "pic1.png": ("bb3ca585d449a58b", "9b7ea381d459a58a", 100),
}
#: Plain photos among the fixtures (no alpha), used by the property tests.
PHOTOS = ("HappyFish.jpg", "aero3.jpg", "butterfly.jpg", "home.jpg", "imageTextN.png", "orange.jpg", "pic1.png")
#: Bits phash may move under a 50 % resize or a JPEG q70 re-encode (measured: 0 on every fixture photo).
MAX_MOVED_BITS = 2
#: A mirror must land at least this far (measured: 28-34 bits of 64).
MIN_MIRROR_BITS = 20


def read(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as handle:
        return handle.read()


def phash_hex(data: bytes) -> str:
    return to_hex(pack_bits(hash_image(data).phash))


def reduced_of(image: np.ndarray) -> Reduced:
    return Reduced(image, 1, *image.shape[:2])


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_the_committed_images_hash_to_their_pinned_values(name):
    hashes = hash_image(read(name))
    assert (to_hex(pack_bits(hashes.phash)), to_hex(pack_bits(hashes.centre_phash)), hashes.quality) == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_the_dhash_of_hash_image_is_the_production_dhash(name):
    data = read(name)
    assert np.array_equal(hash_image(data).dhash, robust_bits(data, 8))


def unnormalised_dct_block(thumb: np.ndarray, hash_size: int) -> np.ndarray:
    """scipy.fftpack.dct(dct(x, axis=0), axis=1) (imagehash's DCT-II, no normalisation), in plain numpy."""
    n = thumb.shape[0]
    k, i = np.mgrid[0:n, 0:n]
    basis = 2 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))
    return (basis @ thumb @ basis.T)[:hash_size, :hash_size]


def test_the_bits_equal_imagehash_recipe_on_the_same_thumbnail():
    # Given 100 random thumbnails, and imagehash's phash: a bit per unnormalised DCT coefficient above the median
    for seed in range(100):
        thumb = np.random.default_rng(seed).random((32, 32))
        block = unnormalised_dct_block(thumb, 8)
        # Then ours sets the same bits (DC included)
        assert np.array_equal(phash_bits(thumb), block > np.median(block)), seed


def test_a_mirror_symmetric_picture_gets_the_same_bits_whatever_the_rounding_of_its_zero_frequencies():
    # Given a left-right symmetric thumbnail (its odd horizontal frequencies are exactly 0) and copies of it
    # moved by rounding-sized amounts, as another summation order or BLAS build would leave them
    half = np.random.default_rng(4).random((32, 16))
    thumb = np.hstack([half, half[:, ::-1]])
    wobbles = [thumb + np.random.default_rng(seed).normal(0, 1e-15, thumb.shape) for seed in range(20)]
    # Then every copy hashes like the exact picture
    assert all(np.array_equal(phash_bits(w), phash_bits(thumb)) for w in wobbles)


@pytest.mark.parametrize("name", PHOTOS)
def test_rescaling_or_recompressing_a_photo_moves_few_bits_and_mirroring_many(name):
    image = cv2.imread(os.path.join(DATA, name), cv2.IMREAD_COLOR)
    base = phash_hex(read(name))
    half = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    assert hamming(base, phash_hex(encode(".png", half))) <= MAX_MOVED_BITS
    assert hamming(base, phash_hex(encode(".jpg", image, (cv2.IMWRITE_JPEG_QUALITY, 70)))) <= MAX_MOVED_BITS
    assert hamming(base, phash_hex(encode(".png", np.ascontiguousarray(image[:, ::-1])))) >= MIN_MIRROR_BITS


@pytest.mark.parametrize("name", PHOTOS)
def test_a_four_percent_border_crop_matches_the_centre_hash_closer_than_the_full_hash(name):
    # Given a photo and a copy with 4 % cut from every border
    image = cv2.imread(os.path.join(DATA, name), cv2.IMREAD_COLOR)
    dy, dx = round(image.shape[0] * 0.04), round(image.shape[1] * 0.04)
    original = hash_image(read(name))
    cropped = phash_hex(encode(".png", np.ascontiguousarray(image[dy:-dy, dx:-dx])))
    # Then the crop's phash is within 2 bits of the original's centre hash (measured 0-2), and closer to it
    # than to the original's full phash (measured 6-18 bits there)
    to_centre = hamming(to_hex(pack_bits(original.centre_phash)), cropped)
    assert to_centre <= 2
    assert to_centre < hamming(to_hex(pack_bits(original.phash)), cropped)


def test_a_flat_image_has_quality_zero_and_is_flagged():
    hashes = hashes_of_reduced(reduced_of(np.full((120, 160), 137, np.uint8)))
    assert hashes.quality == 0
    assert is_low_information(hashes.quality)


def test_a_gentle_gradient_and_faint_noise_are_flagged():
    # Given a left-to-right ramp over 20 % of full scale plus noise of +-1 grey level
    ramp = np.tile(np.linspace(100, 151, 400), (300, 1))
    noise = np.random.default_rng(3).integers(-1, 2, ramp.shape)
    image = np.clip(ramp + noise, 0, 255).astype(np.uint8)
    # Then no step between thumbnail cells reaches 1 %, and the image is low-information
    assert hashes_of_reduced(reduced_of(image)).quality < LOW_QUALITY


@pytest.mark.parametrize("name", PHOTOS)
def test_real_photos_are_not_flagged(name):
    assert not is_low_information(hash_image(read(name)).quality)


def test_quality_sums_whole_percent_steps_between_neighbours():
    # Given a thumbnail whose left half is 0 and right half 0.5: 32 horizontal steps of 50 %
    thumb = np.zeros((32, 32))
    thumb[:, 16:] = 0.5
    assert quality(thumb) == 32 * 50 // QUALITY_DIVISOR
    # and a checkerboard: every step is 100 %, far above the clamp
    assert quality(np.indices((32, 32)).sum(axis=0) % 2 * 1.0) == 100


def test_the_low_information_flag_is_a_quality_under_the_threshold():
    assert is_low_information(LOW_QUALITY - 1)
    assert not is_low_information(LOW_QUALITY)


def test_hex_round_trips_through_bytes_and_int():
    packed = pack_bits(hash_image(read("butterfly.jpg")).phash)
    assert bytes.fromhex(to_hex(packed)) == packed
    assert int(to_hex(packed), 16).to_bytes(8, "big") == packed


@pytest.mark.parametrize("size", [0, 3, 6, 68])
def test_invalid_hash_sizes_raise_value_error(size):
    with pytest.raises(ValueError):
        phash_bits(np.zeros((32, 32)), size)


@pytest.mark.parametrize("shape", [(32, 30), (7, 7), (31, 31), (32,)])
def test_thumbnails_that_are_not_even_squares_raise_value_error(shape):
    with pytest.raises(ValueError):
        phash_bits(np.zeros(shape), 4)


def test_quality_is_only_defined_on_its_32_pixel_thumbnail():
    with pytest.raises(ValueError):
        quality(np.zeros((64, 64)))


def test_hash_size_16_gives_256_bit_hashes_and_the_same_quality():
    data = read("home.jpg")
    large, small = hash_image(data, 16), hash_image(data, 8)
    assert large.phash.shape == large.centre_phash.shape == large.dhash.shape == (16, 16)
    assert large.quality == small.quality


def test_the_thumbnail_is_the_area_average_of_the_decode():
    reduced = decode_robust_reduced(read("orange.jpg"), 72)
    full = cv2.resize(reduced.image.astype(np.float64) / 255, (32, 32), interpolation=cv2.INTER_AREA)
    assert np.allclose(thumbnails(reduced, 32)[0], full, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_thumbnails_of_a_reduced_decode_equal_the_exact_run_sums_of_dhash(dtype):
    # Given 1/8-scale decodes whose last row and column cover only part of 8 pixels (1001 x 1003 displayed)
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (126, 126)).astype(dtype) / (255 if dtype == np.float32 else 1)
    reduced = Reduced(image.astype(dtype), 8, 1001, 1003)
    # Then the integral-image thumbnail is the area average tasks/image/areas.py computes by run sums
    assert np.allclose(thumbnails(reduced, 32)[0], area_grid(reduced.image, 8, 1001, 1003, 32, 32), atol=1e-12)


def test_huge_decodes_take_the_run_sums_path_and_get_the_same_thumbnails(monkeypatch):
    # Given a photo hashed through the integral image, and again with that path limited away
    import tasks.image.areas

    reduced = decode_robust_reduced(read("home.jpg"), 72)  # 1/4 scale: a 4 % margin is 3.84 x 5.12 pixels
    through_integral = thumbnails(reduced, 32, (0.0, 0.04))
    monkeypatch.setattr(tasks.image.areas, "INTEGRAL_PIXELS", 0)
    through_runs = thumbnails(reduced, 32, (0.0, 0.04))
    # Then the full thumbnails agree exactly, the centre ones up to the margin rounded to whole pixels
    assert np.allclose(through_integral[0], through_runs[0], rtol=0, atol=1e-12)
    assert np.allclose(through_integral[1], through_runs[1], rtol=0, atol=0.05)
    assert not np.allclose(through_integral[1], through_runs[1], rtol=0, atol=1e-12)


def test_the_centre_thumbnail_is_the_area_average_of_the_image_without_its_borders():
    # Given a 100 x 125 image: a 4 % margin is exactly 4 rows and 5 columns
    image = np.random.default_rng(8).integers(0, 256, (100, 125), dtype=np.uint8)
    full, centre = thumbnails(reduced_of(image), 32, (0.0, 0.04))
    assert np.allclose(centre, area_grid(image[4:96, 5:120], 1, 92, 115, 32, 32), atol=1e-12)
    assert not np.allclose(centre, full, atol=1e-3)


def test_agreement_with_imagehash_on_the_fixture_photos_is_close_but_not_exact():
    # imagehash resizes with Pillow's Lanczos filter from a full decode, ours area-averages: measured 0-2 bits
    # on these photos (alpha images differ more: imagehash drops alpha, hashfleet composites on white).
    import imagehash  # in the test extra: a missing package fails this test, it does not skip it
    from PIL import Image

    for name in PHOTOS:
        with Image.open(os.path.join(DATA, name)) as image:
            theirs = str(imagehash.phash(image))
        assert hamming(phash_hex(read(name)), theirs) <= 4, name
