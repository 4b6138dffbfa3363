"""Area averages on several grids at once (tasks/image/areas.py): one pass equals one grid at a time."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.image.areas import Grid, area_grid, area_grids


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_grids_computed_together_equal_each_grid_computed_alone(dtype):
    # Given a 1/8-scale decode whose last row and column cover part of 8 pixels, and three grids
    image = np.random.default_rng(9).integers(0, 256, (97, 131)).astype(dtype)
    image = image / np.float32(255) if dtype == np.float32 else image  # float decodes lie in [0, 1]
    grids = (Grid(8, 9), Grid(32, 32), Grid(32, 32, 0.04))
    # When they are averaged in one pass
    together = area_grids(image, 8, 773, 1045, grids)
    # Then each equals its own pass, bit for bit, and the exact run sums up to rounding
    for grid, averages in zip(grids, together, strict=True):
        assert averages.shape == (grid.rows, grid.cols)
        assert np.array_equal(averages, area_grids(image, 8, 773, 1045, (grid,))[0])
    assert np.allclose(together[0], area_grid(image, 8, 773, 1045, 8, 9), rtol=0, atol=1e-12)


@pytest.mark.parametrize("grid", [(0, 9), (8, 0), (8, 9, 0.5), (8, 9, -0.1)])
def test_a_grid_without_cells_or_with_a_margin_of_half_the_image_raises_value_error(grid):
    with pytest.raises(ValueError):
        Grid(*grid)
