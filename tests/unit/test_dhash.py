"""Pure hash functions: bit convention, sizes, hex, the original's integer order."""

import os

import numpy as np
import pytest

from support.hexhash import hamming, to_hex
from tasks.image.dhash import dhash_bits, dhash_classic_bits, pack_bits, to_reversed_int


def horizontal_ramp(width=90, height=80, rising=True) -> np.ndarray:
    row = np.arange(width, dtype=np.uint8) * 2
    return np.tile(row if rising else row[::-1], (height, 1))


def test_a_brightening_ramp_sets_every_bit_and_a_darkening_one_none():
    assert to_hex(pack_bits(dhash_bits(horizontal_ramp()))) == "ffffffffffffffff"
    assert to_hex(pack_bits(dhash_bits(horizontal_ramp(rising=False)))) == "0000000000000000"


def test_the_first_grid_bit_is_the_most_significant_bit_of_the_hex():
    image = np.zeros((80, 90), np.uint8)
    image[:10, 10:20] = 255  # only cell (0, 0) has right > left
    bits = dhash_bits(image)
    assert bits[0, 0] and bits.sum() == 1
    assert to_hex(pack_bits(bits)) == "8000000000000000"


@pytest.mark.parametrize("size, hex_chars", [(8, 16), (16, 64), (4, 4), (12, 36)])
def test_hash_size_sets_the_number_of_hex_digits(size, hex_chars):
    image = np.random.default_rng(size).integers(0, 255, (100, 120), dtype=np.uint8)
    assert len(to_hex(pack_bits(dhash_bits(image, size)))) == hex_chars
    assert len(to_hex(pack_bits(dhash_classic_bits(image, size)))) == hex_chars


@pytest.mark.parametrize("size", [0, 3, 6, 7, 68])
def test_invalid_hash_sizes_raise_value_error(size):
    with pytest.raises(ValueError):
        dhash_bits(np.zeros((10, 10), np.uint8), size)


def test_hex_round_trips_through_int_and_bytes():
    image = np.random.default_rng(1).integers(0, 255, (64, 72), dtype=np.uint8)
    packed = pack_bits(dhash_bits(image))
    assert bytes.fromhex(to_hex(packed)) == packed
    assert int(to_hex(packed), 16).to_bytes(8, "big") == packed


def test_reversed_int_puts_the_first_bit_lowest_like_the_original_script():
    assert to_reversed_int(bytes.fromhex("8000000000000000")) == 1
    assert to_reversed_int(bytes.fromhex("0000000000000001")) == 2**63
    assert to_reversed_int(bytes.fromhex("c000000000000000")) == 3


def test_hamming_counts_differing_bits():
    assert hamming("ff00", "0f00") == 4
    assert hamming("0123456789abcdef", "0123456789abcdef") == 0


def test_area_weights_split_each_axis_exactly_including_a_short_last_pixel():
    from tasks.image.areas import area_weights

    weights = area_weights(pixels=3, scale=8, extent=20, cells=2)  # pixels cover 8, 8 and 4
    assert np.allclose(weights.sum(axis=1), 1)
    assert np.allclose(weights * 10, [[8, 2, 0], [0, 6, 4]])


def test_area_weights_built_from_runs_equal_every_pixels_own_overlap_for_many_geometries():
    from tasks.image.areas import _overlaps, area_weights

    rng = np.random.default_rng(11)
    for _ in range(500):
        scale = int(rng.choice([1, 2, 4, 8]))
        extent = int(rng.integers(1, 3000))
        cells = int(rng.integers(2, 66))
        pixels = -(-extent // scale)
        overlap = _overlaps(np.arange(pixels), scale, extent, cells)
        direct = overlap / overlap.sum(axis=1, keepdims=True)
        assert np.allclose(area_weights(pixels, scale, extent, cells), direct, rtol=0, atol=1e-12), \
            (pixels, scale, extent, cells)


def test_the_reduced_hash_at_scale_one_is_the_plain_robust_hash():
    from tasks.image.dhash import dhash_bits_reduced

    image = np.random.default_rng(5).random((120, 90), dtype=np.float32)
    assert np.array_equal(dhash_bits_reduced(image, 1, 120, 90), dhash_bits(image))


def test_the_reduced_hash_of_block_means_equals_the_full_hash_on_a_smooth_image():
    from tasks.image.dhash import dhash_bits_reduced

    y, x = np.mgrid[0:803, 0:1205].astype(np.float32)
    image = np.sin(x / 97.0) + np.cos(y / 61.0) + x / 900.0
    padded = np.pad(image, ((0, 5), (0, 3)), mode="edge")  # to whole 8x8 blocks, as JPEG does
    blocks = padded.reshape(101, 8, 151, 8).mean(axis=(1, 3))
    assert np.array_equal(dhash_bits_reduced(blocks, 8, 803, 1205), dhash_bits(image))


#: Hashes of the committed sample images (tests/data/images) at hash size 8, (dhash, dhash-classic), as
#: hashfleet computed them when pinned; the classic ones equal the original script's dhash()
#: (tests/unit/test_hash_compatibility.py checks that wherever ../shared/reference is present). Pinned so
#: bit-exactness is checked on every machine, reference or not.
GOLDEN = {
    "HappyFish.jpg": ("648d153323250c04", "408d953133250c04"),
    "aero3.jpg": ("30a03070e97172f6", "10e1281121f1a5b2"),
    "butterfly.jpg": ("c5a38289e58fb787", "c5ab96a9455ba7a9"),
    "home.jpg": ("060e4e175487b5f7", "052b420754aaf5d6"),
    "imageTextN.png": ("5c4d0d572d257b1b", "00004b1210204850"),
    "mask.png": ("f03e0333330382f0", "f0010101010101f0"),
    "opencv-logo-white.png": ("0e161764d4330000", "2048280a2a840409"),
    "orange.jpg": ("bc383c7c7c7c3c98", "bc34383c3c7c3cbb"),
    "pic1.png": ("4c494b2979595b5b", "0029290061515950"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_the_sample_images_hash_to_their_pinned_values_with_both_algorithms(name):
    from support.images import DATA
    from tasks.batch import hash_one

    path = os.path.join(DATA, name)
    got = tuple(hash_one(path, algo, 8)[0].hex() for algo in ("dhash", "dhash-classic"))
    assert got == GOLDEN[name]


def test_every_sample_image_has_a_pinned_hash():
    from support.images import fixture_paths

    assert sorted(os.path.basename(p) for p in fixture_paths()) == sorted(GOLDEN)
