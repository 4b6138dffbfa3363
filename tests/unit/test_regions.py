"""Region phashes (tasks/image/regions.py): each rough edit of a real photo meets its original's region."""

import cv2
import numpy as np
import pytest

from support import rough_edits
from support.images import encode, photo
from tasks.image.decode import Reduced
from tasks.image.frames import content_box
from tasks.image.multihash import decode_reduced, hash_data, hash_image
from tasks.image.regions import REGION_PIXELS, REGIONS, packed_regions, region_phashes

PHOTOS = ("butterfly.jpg", "aero3.jpg", "home.jpg", "orange.jpg")
SQUARE, INNER, UPPER_LEFT = (REGIONS.index(r) for r in ("square", "inner", "upper-left"))
TURNED = [i for i, r in enumerate(REGIONS) if r.startswith("turned")]
#: Bits two hashes of one region may differ by here (the region stage joins within 2).
CLOSE = 2


def hashes(image: np.ndarray):
    """(phash bits, region bits, framed) of an image as a worker computes them from its PNG."""
    data = encode(".png", image)
    regions, framed = region_phashes(decode_reduced(data, 8))
    return hash_image(data).phash, regions, framed


def bits_apart(x: np.ndarray, y: np.ndarray) -> int:
    return int((x != y).sum())


@pytest.mark.parametrize("name", PHOTOS)
def test_a_square_crop_has_its_originals_centre_square_hash(name):
    _, original, _ = hashes(photo(name))
    _, copy, _ = hashes(rough_edits.square(photo(name)))
    assert bits_apart(original[SQUARE], copy[SQUARE]) <= CLOSE


@pytest.mark.parametrize("name", PHOTOS)
def test_a_ten_percent_crop_is_its_originals_middle_region(name):
    _, original, _ = hashes(photo(name))
    full, _, _ = hashes(rough_edits.crop(photo(name), 0.10))
    assert bits_apart(original[INNER], full) <= CLOSE


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("edit", [rough_edits.caption, rough_edits.logo])
def test_a_caption_band_or_a_logo_box_leaves_the_upper_left_region_alone(name, edit):
    _, original, _ = hashes(photo(name))
    _, copy, _ = hashes(edit(photo(name)))
    assert bits_apart(original[UPPER_LEFT], copy[UPPER_LEFT]) <= CLOSE


@pytest.mark.parametrize("name", PHOTOS)
def test_a_copy_turned_three_degrees_meets_one_of_the_turned_regions(name):
    _, original, _ = hashes(photo(name))
    full, _, _ = hashes(rough_edits.turned(photo(name), 3.0))
    assert min(bits_apart(original[i], full) for i in TURNED) <= 2 * CLOSE


@pytest.mark.parametrize("name", PHOTOS)
def test_a_screenshot_is_framed_and_its_content_is_the_photo(name):
    full, _, framed = hashes(photo(name))
    _, copy, copy_framed = hashes(rough_edits.screenshot(photo(name)))
    assert copy_framed and not framed
    assert bits_apart(copy[0], full) <= CLOSE


def test_the_content_box_of_a_window_is_the_photo_inside_it():
    image = photo("aero3.jpg")
    shot = cv2.cvtColor(rough_edits.screenshot(image), cv2.COLOR_BGR2GRAY)
    top, bottom, left, right = content_box(shot)
    h, w = image.shape[:2]
    assert (bottom - top, right - left) == (h, w)


def test_a_caption_band_on_one_side_is_not_a_frame():
    grey = cv2.cvtColor(rough_edits.caption(photo("butterfly.jpg")), cv2.COLOR_BGR2GRAY)
    assert content_box(grey) == (0, grey.shape[0], 0, grey.shape[1])


def test_packed_regions_are_eight_bytes_each_and_the_content_hash_is_zero_without_a_frame():
    grey = cv2.cvtColor(photo("home.jpg"), cv2.COLOR_BGR2GRAY)
    packed = packed_regions(Reduced(grey, 1, *grey.shape))
    assert len(packed) == 8 * len(REGIONS)
    assert packed[:8] == bytes(8) and all(packed[8 * i:8 * i + 8] != bytes(8) for i in range(1, len(REGIONS)))


def test_a_flat_image_gets_region_hashes_without_failing():
    packed = packed_regions(Reduced(np.full((90, 120), 128, np.uint8), 1, 90, 120))
    assert len(packed) == 8 * len(REGIONS)


@pytest.mark.parametrize("edit", [lambda image: image, rough_edits.screenshot])
def test_a_job_computes_the_same_region_hashes_in_its_shared_pass_as_the_regions_alone(edit):
    data = encode(".jpg", edit(photo("orange.jpg")))
    hashed = hash_data(data, ("dhash", "phash", "phash-regions"), 8)
    assert hashed.packed[16:] == packed_regions(decode_reduced(data, 8))


def test_a_huge_full_size_decode_gets_the_region_hashes_of_the_same_picture_at_a_usual_size():
    grey = cv2.cvtColor(photo("aero3.jpg"), cv2.COLOR_BGR2GRAY)
    huge = cv2.resize(grey, (2600, round(2600 * grey.shape[0] / grey.shape[1])), interpolation=cv2.INTER_CUBIC)
    assert huge.size > REGION_PIXELS
    usual, _ = region_phashes(Reduced(grey, 1, *grey.shape))
    big, _ = region_phashes(Reduced(huge, 1, *huge.shape))
    assert max(bits_apart(usual[i], big[i]) for i in range(len(REGIONS))) <= CLOSE
