"""Frame finding (tasks/image/frames.py): the fast mask and part-box steps agree with OpenCV's own statistics."""

import cv2
import numpy as np
import pytest

from tasks.image.frames import FRAME_TOLERANCE, _big_parts_box, _unlike, content_box


def reference_box(mask: np.ndarray, min_pixels: float):
    """The box around parts of at least `min_pixels`, from cv2.connectedComponentsWithStats."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    big = stats[1:][stats[1:, cv2.CC_STAT_AREA] >= min_pixels]
    if not len(big):
        return None
    left, top = big[:, 0].min(), big[:, 1].min()
    right, bottom = (big[:, 0] + big[:, 2]).max(), (big[:, 1] + big[:, 3]).max()
    return int(left), int(top), int(right - left), int(bottom - top)


def dots(parts: int, seed: int) -> np.ndarray:
    """A 200 x 300 mask with `parts` separate squares of 1-6 pixels a side, scattered."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((200, 300), np.uint8)
    cells = rng.choice(20 * 30, size=parts, replace=False)
    for cell in cells:
        y, x = divmod(int(cell), 30)
        side = int(rng.integers(1, 7))
        mask[y * 10 + 1 : y * 10 + 1 + side, x * 10 + 1 : x * 10 + 1 + side] = 1
    return mask


@pytest.mark.parametrize("parts", [1, 2, 40, 255, 256, 400])
@pytest.mark.parametrize("min_pixels", [1, 10, 30])
def test_the_box_around_the_big_parts_is_the_one_opencvs_statistics_give(parts, min_pixels):
    mask = dots(parts, seed=parts * 100 + min_pixels)
    assert _big_parts_box(mask, min_pixels) == reference_box(mask, min_pixels)


def test_a_mask_whose_only_part_is_small_has_no_box():
    mask = np.zeros((200, 300), np.uint8)
    mask[5:7, 5:7] = 1
    assert _big_parts_box(mask, 10) is None


@pytest.mark.parametrize("colours", [[0.0], [1.0], [0.5, 0.1], [0.02, 0.98, 0.3, 0.31]])
def test_the_unlike_mask_of_8_bit_pixels_matches_the_per_colour_difference(colours):
    grey = np.arange(256, dtype=np.uint8).repeat(3).reshape(24, 32)
    expected = np.ones(grey.shape, bool)
    for colour in colours:
        expected &= cv2.absdiff(grey, colour * 255.0) > FRAME_TOLERANCE * 255
    assert np.array_equal(_unlike(grey, colours), expected.astype(np.uint8))


def test_a_photo_on_a_mat_with_a_few_specks_is_boxed_without_the_specks():
    rng = np.random.default_rng(7)
    mat = np.full((240, 320), 235, np.uint8)
    mat[40:200, 60:260] = rng.integers(0, 200, size=(160, 200), dtype=np.uint8)
    for y, x in ((5, 5), (230, 310), (10, 300)):
        mat[y : y + 2, x : x + 2] = 20  # dust: parts far under MIN_PART_SHARE of the picture
    assert content_box(mat) == (40, 200, 60, 260)
