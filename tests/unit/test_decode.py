"""Decoding what real folders contain, and a short error code for everything else."""

import numpy as np
import pytest

from support.hexhash import to_hex
from support.images import encode, photo, pillow_bytes, png_declaring
from tasks.errors import FileError, FileUnreadable
from tasks.image.decode import decode_classic, decode_robust, sniff_format
from tasks.image.dhash import dhash_bits, pack_bits


def robust_hex(data: bytes) -> str:
    return to_hex(pack_bits(dhash_bits(decode_robust(data))))


@pytest.fixture(scope="module")
def bgr():
    return photo()


def palette_png(bgr) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(bgr[:, :, ::-1].copy()).convert("P", palette=Image.ADAPTIVE).save(buf, "PNG")
    return buf.getvalue()


#: Each common format, encoded from the same picture (a BGR array).
ENCODERS = {
    "jpeg": lambda bgr: encode(".jpg", bgr),
    "png8": lambda bgr: encode(".png", bgr),
    "png16": lambda bgr: encode(".png", bgr.astype(np.uint16) * 257),
    "png-gray": lambda bgr: encode(".png", gray_of(bgr)),
    "png-rgba": lambda bgr: encode(".png", np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])),
    "png-palette": palette_png,
    "webp": lambda bgr: encode(".webp", bgr, (1, 100)),
    "bmp": lambda bgr: encode(".bmp", bgr),
    "tiff": lambda bgr: encode(".tiff", bgr),
    "ppm": lambda bgr: encode(".ppm", bgr),
    "pgm": lambda bgr: encode(".pgm", gray_of(bgr)),
    "gif": lambda bgr: pillow_bytes(bgr, "GIF"),
}


def gray_of(bgr):
    return bgr.mean(axis=2).astype(np.uint8)


@pytest.fixture(scope="module")
def png_reference(bgr) -> str:
    return robust_hex(encode(".png", bgr))


@pytest.mark.parametrize("kind", list(ENCODERS))
def test_every_common_format_decodes_to_a_hash_close_to_the_png_original(bgr, png_reference, kind):
    reference = png_reference
    data = ENCODERS[kind](bgr)
    assert sniff_format(data) is not None
    distance = (int(reference, 16) ^ int(robust_hex(data), 16)).bit_count()
    assert distance <= 6, kind  # palette/GIF quantisation and JPEG move a few bits at most
    assert decode_classic(data).dtype == np.uint8


def test_sixteen_bit_png_keeps_its_precision_in_the_robust_decode(bgr):
    data = encode(".png", bgr.astype(np.uint16) * 257 + 100)
    gray = decode_robust(data)
    assert gray.dtype == np.float32 and 0 <= gray.min() and gray.max() <= 1


@pytest.mark.parametrize("shape", [(40, 50), (50, 60), (77, 131), (1000, 999)])
def test_fully_transparent_pixels_are_composited_on_white_and_hash_to_zero(shape):
    rgba = np.zeros((*shape, 4), np.uint8)  # black, fully transparent
    gray = decode_robust(encode(".png", rgba))
    assert gray.dtype == np.uint8 and int(gray.min()) == 255  # 8-bit stays uint8: white is 255
    assert robust_hex(encode(".png", rgba)) == "0000000000000000"


def test_a_transparent_cutout_hashes_by_its_silhouette_not_its_hidden_colour():
    shape = np.zeros((80, 90, 4), np.uint8)
    shape[20:60, 10:40] = (0, 0, 200, 255)  # opaque red block on the left
    other = shape.copy()
    other[shape[:, :, 3] == 0, :3] = 77  # same silhouette, different colour under the transparency
    assert robust_hex(encode(".png", shape)) == robust_hex(encode(".png", other))
    assert robust_hex(encode(".png", shape)) != "0000000000000000"


@pytest.mark.parametrize("data, code", [
    (b"hello, I am text named .jpg\n", FileError.NOT_AN_IMAGE),
    (bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8)), FileError.NOT_AN_IMAGE),
    (png_declaring(60000, 60000), FileError.TOO_MANY_PIXELS),
    (png_declaring(2**31 - 1, 57), FileError.TOO_MANY_PIXELS),  # libpng's own header check would say corrupt
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, FileError.CORRUPT),
])
def test_undecodable_bytes_raise_a_decode_error_with_a_code(data, code):
    for decode in (decode_robust, decode_classic):
        with pytest.raises(FileUnreadable) as caught:
            decode(data)
        assert caught.value.code == code


def test_a_truncated_jpeg_is_reported_corrupt(bgr):
    data = encode(".jpg", bgr)
    with pytest.raises(FileUnreadable) as caught:
        decode_robust(data[: len(data) // 2])
    assert caught.value.code == FileError.CORRUPT


def test_exif_orientation_is_applied_by_both_algorithms(bgr):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed rotated 90 degrees
    data = pillow_bytes(bgr, "JPEG", exif=exif.tobytes())
    height, width = bgr.shape[:2]
    assert decode_robust(data).shape == (width, height)
    assert decode_classic(data).shape == (width, height)


def test_a_jpeg_declaring_more_pixels_than_the_limit_is_refused_before_a_reduced_decode(monkeypatch, bgr):
    import cv2

    from tasks.image import decode

    big = encode(".jpg", cv2.resize(bgr, (3000, 2000)))
    monkeypatch.setattr(decode, "MAX_PIXELS", 3000 * 2000 - 1)
    with pytest.raises(FileUnreadable) as caught:
        decode.decode_robust_reduced(big, 144)
    assert caught.value.code == FileError.TOO_MANY_PIXELS
    monkeypatch.setattr(decode, "MAX_PIXELS", 3000 * 2000)
    assert decode.decode_robust_reduced(big, 144).scale == 8


def peak_rss_growth_mib(decode, data: bytes) -> tuple[float, str]:
    """(MiB the peak RSS grew by, outcome) of `decode(data)` run in a forked child, so the peak is its own."""
    import os
    import resource

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: decode, report, exit without running pytest's cleanup
        try:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            try:
                decode(data)
                outcome = "decoded"
            except FileUnreadable as exc:
                outcome = exc.code.reason
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
            os.write(write_end, f"{grown / 1024} {outcome}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        grown, outcome = pipe.read().split()
    os.waitpid(pid, 0)
    return float(grown), outcome


@pytest.mark.parametrize("depth", [8, 16])
def test_a_png_chunk_longer_than_the_file_is_corrupt_without_its_length_being_allocated(bgr, depth):
    # Given a PNG whose IDAT length field says 4 GiB (OpenCV's reader allocates a chunk's declared length)
    import struct

    from tasks.image.png import chunks_fit

    image = bgr if depth == 8 else bgr.astype(np.uint16) * 257
    data = bytearray(encode(".png", image))
    idat = data.find(b"IDAT") - 4
    data[idat:idat + 4] = struct.pack(">I", 2**32 - 1)
    assert not chunks_fit(bytes(data)) and chunks_fit(encode(".png", image))
    for decode in (decode_robust, decode_classic):
        # When it is decoded, Then it is corrupt and the process never held the declared length
        grown, outcome = peak_rss_growth_mib(decode, bytes(data))
        assert outcome == "corrupt"
        assert grown < 256, (decode.__name__, grown)
