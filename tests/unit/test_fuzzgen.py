"""support/fuzzgen.py: the mutations aim at the structures they name and the same seed gives the same bytes."""

import random
import struct
import zlib

import pytest

from support import fuzzgen
from support.fuzzformats import layout
from support.images import photo


@pytest.fixture(scope="module")
def sources():
    return fuzzgen.encode_sources({"butterfly": photo()}, 96)


def by_recipe(sources, recipe: str) -> fuzzgen.Source:
    return next(s for s in sources if s.name.endswith("." + recipe))


def test_every_recipe_gives_a_format_the_decoder_sniffs_and_all_formats_are_covered(sources):
    assert len(sources) == len(fuzzgen.RECIPES)
    assert {s.fmt for s in sources} == set(fuzzgen.EXTENSIONS)


def test_the_layouts_find_the_dimensions_where_each_format_keeps_them(sources):
    # Given intact files, When their layouts are read, Then each format's header fields hold its width and height
    import cv2
    import numpy as np

    for recipe in ("png", "jpeg", "webp", "bmp", "tiff", "gif", "ppm", "pfm", "hdr", "avif", "jp2"):
        source = by_recipe(sources, recipe)
        height, width = cv2.imdecode(np.frombuffer(source.data, np.uint8), cv2.IMREAD_UNCHANGED).shape[:2]
        found = set()
        for field in layout(source.data, source.fmt).header:
            raw = source.data[field.offset:field.offset + field.size]
            order = "big" if field.kind == "be" else "little"
            found.add(int(float(raw)) if field.kind == "text" else int.from_bytes(raw, order))
        assert {width, height} <= found, (recipe, width, height, found)


def test_a_png_header_field_set_with_its_crc_fixed_leaves_a_valid_crc(sources):
    png = by_recipe(sources, "png")
    width = layout(png.data, "png").header[0]
    data = fuzzgen.set_field(png.data, width, random.Random(0), fix_crc=True)
    assert data[16:20] != png.data[16:20]
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(data[12:29])


def test_every_mutation_changes_the_bytes_or_the_extension_and_the_plan_is_reproducible(sources):
    # Given two plans from the same seed, When they are drawn, Then they are equal byte for byte
    first = list(fuzzgen.plan(sources, 200, seed=5))
    assert first == list(fuzzgen.plan(sources, 200, seed=5))
    assert first != list(fuzzgen.plan(sources, 200, seed=6))
    # And each file differs from its source in its bytes, or (a swap) in its extension
    for _, source, data, mutation, ext in first:
        assert data != source.data or ext != fuzzgen.EXTENSIONS[source.fmt], (source.name, mutation)
    assert {m.split("+")[0] for *_, m, _ in first} == set(fuzzgen.MUTATIONS)
