"""Damaged image files, reproducibly: real pictures encoded in every format hashfleet decodes, then mutated.

Mutations (pure functions of the bytes, a format layout from fuzzformats.py and a seeded RNG):

* ``bitflip``: 1-32 random bits flipped, half the time inside the first 512 bytes (the headers);
* ``overwrite``: a run of 1-64 bytes replaced by zeros, 0xFF or random bytes;
* ``truncate``: cut at a random offset; ``truncate-boundary``: cut at (or one byte around) a chunk, segment,
  box or header-line boundary;
* ``header``: one header field (dimensions, bit depth, colour type, component count, sampling, compression,
  PNM/PFM/Radiance numbers...) set to 0, 1, a neighbour, a multiple, the field's maximum or random; a
  PNG chunk's CRC is recomputed three times in four, so the decoder's check of the value is reached;
* ``length``: one chunk/segment/box/IFD length or count field set the same way;
* ``swap``: the intact file under another format's extension (any mutation also swaps one time in ten).

The same (sources, count, seed) always gives the same files, byte for byte:
file i draws from ``random.Random(f"{seed}/{i}")`` alone.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import random
import struct
import zlib
from collections.abc import Callable, Iterable

import cv2
import numpy as np

from support.fuzzformats import Field, layout

#: Every container format tasks/image/decode.py sniffs, with the extension its files get.
EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "bmp": ".bmp", "tiff": ".tif", "gif": ".gif",
              "jp2": ".jp2", "avif": ".avif", "hdr": ".hdr", "pfm": ".pfm", "pnm": ".ppm"}
#: Mutation names and their weights.
MUTATIONS = {"bitflip": 20, "overwrite": 10, "truncate": 10, "truncate-boundary": 15, "header": 25, "length": 15,
             "swap": 5}
#: Share of mutated files that also get another format's extension.
SWAP_SHARE = 0.1
#: Bytes at the start of a file where half the bit flips land.
HEADER_BYTES = 512


@dataclasses.dataclass(frozen=True)
class Source:
    """An intact file to mutate: `name` (picture + recipe), its sniffed `fmt` and its bytes."""

    name: str
    fmt: str
    data: bytes


@dataclasses.dataclass(frozen=True)
class FuzzFile:
    """One written file and how it was made."""

    path: str
    source: str
    fmt: str
    mutation: str


def _alpha(bgr: np.ndarray) -> np.ndarray:
    height, width = bgr.shape[:2]
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0).astype(np.uint8)
    return np.dstack([bgr, ramp])


def _gray(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


#: recipe name: (extension OpenCV encodes to, image transform, imwrite parameters).
RECIPES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray], list[int]]] = {
    "jpeg": (".jpg", lambda im: im, [cv2.IMWRITE_JPEG_QUALITY, 90]),
    "jpeg-progressive": (".jpg", lambda im: im, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
    "jpeg-gray": (".jpg", _gray, []),
    "png": (".png", lambda im: im, []),
    "png-rgba": (".png", _alpha, []),
    "png-16bit": (".png", lambda im: im.astype(np.uint16) * 257, []),
    "png-gray": (".png", _gray, []),
    "webp": (".webp", lambda im: im, [cv2.IMWRITE_WEBP_QUALITY, 90]),
    "webp-lossless-rgba": (".webp", _alpha, [cv2.IMWRITE_WEBP_QUALITY, 101]),
    "bmp": (".bmp", lambda im: im, []),
    "tiff": (".tif", lambda im: im, []),
    "tiff-16bit": (".tif", lambda im: im.astype(np.uint16) * 257, []),
    "gif": (".gif", lambda im: im, []),
    "jp2": (".jp2", lambda im: im, []),
    "avif": (".avif", lambda im: im, []),
    "hdr": (".hdr", lambda im: im.astype(np.float32) / 255, []),
    "pfm": (".pfm", lambda im: im.astype(np.float32) / 255, []),
    "ppm": (".ppm", lambda im: im, []),
    "ppm-ascii": (".ppm", lambda im: im, [cv2.IMWRITE_PXM_BINARY, 0]),
    "pgm": (".pgm", _gray, []),
}


def sniff(data: bytes) -> str | None:
    from tasks.image.decode import sniff_format

    return sniff_format(data)


def encode_sources(pictures: dict[str, np.ndarray], max_side: int) -> list[Source]:
    """Each BGR picture (scaled down to `max_side`) in every recipe of :data:`RECIPES`."""
    sources = []
    for name, bgr in pictures.items():
        scale = max_side / max(bgr.shape[:2])
        if scale < 1:
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        for recipe, (ext, transform, params) in RECIPES.items():
            ok, buf = cv2.imencode(ext, transform(bgr), params)
            if not ok:
                raise RuntimeError(f"OpenCV cannot encode {recipe}")
            data = buf.tobytes()
            sources.append(Source(f"{os.path.splitext(name)[0]}.{recipe}", sniff(data), data))
    return sources


def file_sources(paths: Iterable[str]) -> list[Source]:
    """Files as they are (real encoders' output), those whose format tasks/image/decode.py knows."""
    sources = []
    for path in paths:
        with open(path, "rb") as handle:
            data = handle.read()
        fmt = sniff(data)
        if fmt is not None:
            sources.append(Source(os.path.basename(path), fmt, data))
    return sources


def _new_number(old: int, bits: int, rng: random.Random) -> int:
    top = (1 << bits) - 1
    choices = [0, 1, old + 1, old - 1, old * 2, old // 2, old * 16, top, top >> 1, (top >> 1) + 1,
               rng.getrandbits(bits)]
    values = [v & top for v in choices if (v & top) != old]
    return rng.choice(values) if values else old ^ 1


def set_field(data: bytes, field: Field, rng: random.Random, fix_crc: bool) -> bytes:
    """`data` with `field` set to a new value (see the module docstring)."""
    raw = data[field.offset:field.offset + field.size]
    if field.kind == "text":
        old = int(float(raw)) if raw.strip(b"-.0123456789") == b"" and raw not in (b"-", b".") else 0
        new = rng.choice([0, -1, old + 1, old - 1, old * 7, 65536, 2**31, 10**12, rng.randrange(1 << 20)])
        return data[:field.offset] + str(new).encode() + data[field.offset + field.size:]
    order = "big" if field.kind == "be" else "little"
    new = _new_number(int.from_bytes(raw, order), 8 * field.size, rng).to_bytes(field.size, order)
    out = bytearray(data)
    out[field.offset:field.offset + field.size] = new
    if fix_crc and field.crc_span is not None and field.crc_span[1] + 4 <= len(out):
        start, end = field.crc_span
        out[end:end + 4] = struct.pack(">I", zlib.crc32(bytes(out[start:end])))
    return bytes(out)


def bitflip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    span = min(len(out), HEADER_BYTES) if rng.random() < 0.5 else len(out)
    for _ in range(rng.choice((1, 1, 2, 3, 4, 8, 32))):
        out[rng.randrange(span)] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    size = min(rng.randint(1, 64), len(data) - start)
    fill = rng.choice((b"\0" * size, b"\xff" * size, rng.randbytes(size)))
    return data[:start] + fill + data[start + size:]


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(1, len(data))]


def truncate_boundary(data: bytes, fmt: str, rng: random.Random) -> bytes:
    bounds = [b for b in layout(data, fmt).boundaries if 0 < b < len(data)]
    if not bounds:
        return truncate(data, rng)
    cut = rng.choice(bounds) + rng.choice((0, 0, 1, -1))
    return data[:max(1, min(cut, len(data) - 1))]


def corrupt(data: bytes, fmt: str, rng: random.Random, which: str) -> bytes:
    """Set one header field (`which` "header") or one length field ("length"); a bit flip when the
    format layout offers none."""
    found = layout(data, fmt)
    fields = found.header if which == "header" else found.lengths
    if not fields:
        return bitflip(data, rng)
    return set_field(data, rng.choice(fields), rng, fix_crc=rng.random() < 0.75)


def mutate(source: Source, rng: random.Random) -> tuple[bytes, str, str]:
    """(mutated bytes, mutation name, extension) of one file drawn from `rng`."""
    mutation = rng.choices(list(MUTATIONS), weights=list(MUTATIONS.values()))[0]
    data = source.data
    if mutation == "bitflip":
        data = bitflip(data, rng)
    elif mutation == "overwrite":
        data = overwrite(data, rng)
    elif mutation == "truncate":
        data = truncate(data, rng)
    elif mutation == "truncate-boundary":
        data = truncate_boundary(data, source.fmt, rng)
    elif mutation in ("header", "length"):
        data = corrupt(data, source.fmt, rng, mutation)
    ext = EXTENSIONS[source.fmt]
    if mutation == "swap" or rng.random() < SWAP_SHARE:
        ext = rng.choice(sorted(set(EXTENSIONS.values()) - {ext}))
        mutation += "+swap" if mutation != "swap" else ""
    return data, mutation, ext


def plan(sources: list[Source], count: int, seed: int):
    """Yield (index, source, mutated bytes, mutation, extension) for `count` files: formats take turns
    (so each is equally represented), the source within a format and the mutation are drawn."""
    by_format: dict[str, list[Source]] = {}
    for source in sources:
        by_format.setdefault(source.fmt, []).append(source)
    formats = sorted(by_format)
    for index in range(count):
        rng = random.Random(f"{seed}/{index}")
        source = rng.choice(by_format[formats[index % len(formats)]])
        yield (index, source, *mutate(source, rng))


def write_corpus(sources: list[Source], out_dir: str, count: int, seed: int) -> list[FuzzFile]:
    """Write `count` mutated files under `out_dir`/<source format>/ and a MANIFEST.csv; return them."""
    files = []
    for index, source, data, mutation, ext in plan(sources, count, seed):
        folder = os.path.join(out_dir, source.fmt)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{index:06d}-{mutation}{ext}")
        with open(path, "wb") as handle:
            handle.write(data)
        files.append(FuzzFile(path, source.name, source.fmt, mutation))
    with open(os.path.join(out_dir, "MANIFEST.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "source", "format", "mutation"])
        writer.writerows((f.path, f.source, f.fmt, f.mutation) for f in files)
    return files
