"""Hostile files and paths without a broker: each gets the outcome docs/inputs.md promises, on both
algorithms; the walk streams huge folders in bounded memory and survives paths over PATH_MAX."""

import os
import shutil
import stat
import tempfile
import threading

import cv2
import numpy as np
import pytest

from producer import walk
from producer.walk import iter_image_paths
from support import hostile
from support.hexhash import hamming
from support.images import encode, photo, write
from support.memory import traced_peak
from tasks.batch import hash_one
from tasks.errors import FileError, FileUnreadable
from tasks.inputs.readfile import read_image_bytes

ALGOS = ("dhash", "dhash-classic")


@pytest.fixture(scope="module")
def bgr():
    return photo("home.jpg")


def outcome(path: str, algo: str) -> tuple[FileError, str]:
    result = hash_one(path, algo, 8)
    return result[1], result[0].hex() if result[0] is not None else ""


#: Expected outcome {algorithm: code} of a file hashed by the robust algorithm only.
ROBUST_ONLY = {"dhash": FileError.OK, "dhash-classic": FileError.CORRUPT}


def kinds(bgr) -> dict[str, tuple[bytes, FileError | dict, bytes | None, int]]:
    """name: (contents, expected code (or {algo: code}), reference contents or None, max bits from the
    reference's hash when hashed)."""
    upright = hostile.baseline_jpeg(bgr)
    png = encode(".png", bgr)
    text_png = hostile.png_with_text(bgr)
    rgba = encode(".png", cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))
    png16 = encode(".png", bgr.astype(np.uint16) * 257)
    return {
        "cmyk.jpg": (hostile.cmyk_jpeg(bgr), FileError.OK, upright, 2),
        "progressive.jpg": (hostile.progressive_jpeg(bgr), FileError.OK, upright, 2),
        "exif-rotated.jpg": (hostile.exif_rotated_jpeg(bgr), FileError.OK, upright, 2),
        "trailing-garbage.jpg": (hostile.jpeg_with_trailing_garbage(upright), FileError.OK, upright, 0),
        "signature-only.png": (hostile.png_signature_only(), FileError.CORRUPT, None, 0),
        # 8-bit gray/RGB/RGBA PNGs go through libspng on the robust path, which does not check CRCs;
        # OpenCV's libpng (the classic path, and 16-bit or palette-with-tRNS PNGs on both) refuses them
        "bad-crc-idat.png": (hostile.png_bad_crc(png, b"IDAT"), ROBUST_ONLY, png, 0),
        "bad-crc-ihdr.png": (hostile.png_bad_crc(png, b"IHDR"), ROBUST_ONLY, png, 0),
        "bad-crc-rgba.png": (hostile.png_bad_crc(rgba, b"IDAT"), ROBUST_ONLY, rgba, 0),
        "bad-crc-16bit.png": (hostile.png_bad_crc(png16, b"IDAT"), FileError.CORRUPT, None, 0),
        "bad-crc-text.png": (hostile.png_bad_crc(text_png, b"tEXt"), FileError.OK, png, 0),
        "huge-declared.bmp": (hostile.bmp_declaring(100_000, 100_000), FileError.TOO_MANY_PIXELS, None, 0),
        "svg.png": (hostile.SVG, FileError.NOT_AN_IMAGE, None, 0),
        "photo.heic": (hostile.heic_like(), FileError.NOT_AN_IMAGE, None, 0),
        "photo.avif": (hostile.avif(bgr), FileError.OK, upright, 2),
        "animated.webp": (hostile.animated_webp(bgr, 255 - bgr), FileError.OK, hostile.still_webp(bgr), 0),
    }


@pytest.mark.parametrize("algo", ALGOS)
def test_each_hostile_encoding_gets_its_documented_outcome_on_both_algorithms(tmp_path, bgr, algo):
    # Given files in odd but real encodings, and broken ones, with a plain reference where one exists
    for name, (data, expected, reference, max_bits) in kinds(bgr).items():
        # When each is hashed
        code, got = outcome(write(str(tmp_path / name), data), algo)
        # Then it has the documented code, and a hashed one is the hash of what a viewer shows
        expected = expected.get(algo) if isinstance(expected, dict) else expected
        assert code == expected, name
        if reference is not None and code == FileError.OK:
            _, want = outcome(write(str(tmp_path / f"ref-{name}"), reference), algo)
            assert hamming(got, want) <= max_bits, (name, got, want)


def test_an_animated_webp_hashes_its_first_frame_not_the_second(tmp_path, bgr):
    second = 255 - bgr
    _, anim = outcome(write(str(tmp_path / "a.webp"), hostile.animated_webp(bgr, second)), "dhash")
    _, last = outcome(write(str(tmp_path / "b.webp"), hostile.still_webp(second)), "dhash")
    assert hamming(anim, last) > 32


def test_huge_dimensions_within_the_pixel_limit_are_hashed_like_the_same_picture_small(tmp_path):
    # Given a 12000 x 9000 picture of flat blocks as JPEG and PNG, and the same picture at 120 x 90
    big = hostile.huge_gray()
    small = cv2.resize(big, (120, 90), interpolation=cv2.INTER_AREA)
    _, want = outcome(write(str(tmp_path / "small.png"), encode(".png", small)), "dhash")
    for name, data in (("huge.jpg", encode(".jpg", big)), ("huge.png", encode(".png", big))):
        path = write(str(tmp_path / name), data)
        # When hashed: then the robust hash is the small picture's; the classic recipe (bilinear
        # resize, as in the original script) samples a few pixels, so it is only required to succeed
        code, got = outcome(path, "dhash")
        assert code == FileError.OK and hamming(got, want) <= 2, name
        assert outcome(path, "dhash-classic")[0] == FileError.OK


def test_a_device_a_fifo_and_a_link_to_a_fifo_are_refused_from_their_stat_without_being_opened(
        tmp_path, monkeypatch):
    # Given /dev/zero's twin, a FIFO and a symlink to the FIFO, all named like images
    paths = [hostile.char_device(str(tmp_path / "zero.jpg")), str(tmp_path / "fifo.png")]
    os.mkfifo(paths[1])
    os.symlink(paths[1], tmp_path / "link.jpg")
    paths.append(str(tmp_path / "link.jpg"))
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **k: opened.append(p) or real_open(p, *a, **k))
    codes = []
    # When they are read (in a thread, so a regression that blocks fails instead of hanging)
    reader = threading.Thread(target=lambda: codes.extend(_code(p) for p in paths), daemon=True)
    reader.start()
    reader.join(timeout=10)
    # Then each is not-a-file, and none was ever opened
    assert codes == [FileError.NOT_A_FILE] * 3
    assert opened == []


def _code(path: str) -> FileError:
    try:
        read_image_bytes(path)
    except FileUnreadable as exc:
        return exc.code
    return FileError.OK


def test_files_changed_between_the_walk_and_the_read_are_judged_as_the_worker_finds_them(tmp_path, bgr):
    # Given a folder walked while one file is empty, one whole, one about to be deleted
    jpeg = hostile.baseline_jpeg(bgr)
    write(str(tmp_path / "grows.jpg"), b"")
    write(str(tmp_path / "shrinks.jpg"), jpeg)
    write(str(tmp_path / "vanishes.jpg"), jpeg)
    paths = list(iter_image_paths([str(tmp_path)]))
    # When they change after the walk and before the read
    write(str(tmp_path / "grows.jpg"), jpeg)
    write(str(tmp_path / "shrinks.jpg"), b"")
    os.unlink(tmp_path / "vanishes.jpg")
    results = {os.path.basename(p): hash_one(p, "dhash", 8) for p in paths}
    # Then each record is what the read found: hashed (with the full size), empty, not found
    assert results["grows.jpg"][1:3] == (FileError.OK, len(jpeg))
    assert results["shrinks.jpg"][1] == FileError.EMPTY_FILE
    assert results["vanishes.jpg"][1] == FileError.NOT_FOUND


def test_paths_over_path_max_become_name_too_long_records_and_the_walk_goes_on(tmp_path, bgr):
    # Given a folder whose absolute path is 3900 bytes, holding an image, an image whose name takes
    # the path past PATH_MAX, and a sub-folder past PATH_MAX; and a normal folder walked after it
    jpeg = hostile.baseline_jpeg(bgr)
    near = hostile.deep_folder(str(tmp_path / "a"), 3900)
    write(os.path.join(near, "near.jpg"), jpeg)
    long_name = "n" * 250 + ".jpg"
    too_long = hostile.write_at(near, [long_name], jpeg)
    too_deep = hostile.write_at(near, ["s" * 250, "deep.jpg"], jpeg)
    write(str(tmp_path / "b.jpg"), jpeg)
    assert len(os.fsencode(too_long)) >= hostile.PATH_MAX
    # When the tree is walked and read
    errors = []
    paths = list(iter_image_paths([str(tmp_path)], on_error=lambda p, c: errors.append((p, c))))
    # Then the file within the limit is hashed, the long-named file is listed but refused, the folder
    # that cannot be opened is reported (its contents unlisted), and the walk went on to b.jpg
    assert paths == [os.path.join(near, "near.jpg"), too_long, str(tmp_path / "b.jpg")]
    assert errors == [(os.path.dirname(too_deep), FileError.NAME_TOO_LONG)]
    assert [_code(p) for p in paths] == [FileError.OK, FileError.NAME_TOO_LONG, FileError.OK]


def test_odd_names_are_walked_and_a_folder_or_file_named_twice_is_listed_once(tmp_path, monkeypatch):
    # Given 255-byte names (ASCII and two-byte UTF-8), names of spaces and dashes, a .heic, a name
    # with no extension, and a file given on the command line as ../x/./y.jpg
    names = ["a" * 251 + ".jpg", "é" * 125 + "x.jpg", " .jpg", "-rf.jpg", "--help.png", "photo.HEIC", "   "]
    (tmp_path / "in").mkdir()
    for name in names:
        write(str(tmp_path / "in" / name), b"x")
    (tmp_path / "x").mkdir()
    write(str(tmp_path / "x" / "y.jpg"), b"x")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    # When the folder is given twice, and the named file twice
    found = list(iter_image_paths(["../in", "../x/./y.jpg", "../in/", "../x/y.jpg"]))
    # Then every name with an image extension is listed once, byte-sorted; "   " has none
    assert len(os.fsencode(names[0])) == len(os.fsencode(names[1])) == hostile.NAME_MAX
    listed = sorted(names[:-1], key=os.fsencode)
    assert found == [str(tmp_path / "in" / n) for n in listed] + [str(tmp_path / "x" / "y.jpg")]


def test_a_file_named_on_the_command_line_is_not_listed_again_by_its_folder(tmp_path):
    for name in ("a.jpg", "b.jpg"):
        write(str(tmp_path / name), b"x")
    found = list(iter_image_paths([str(tmp_path / "b.jpg"), str(tmp_path)]))
    assert found == [str(tmp_path / "b.jpg"), str(tmp_path / "a.jpg")]


def test_a_folder_over_the_sort_limit_is_streamed_in_directory_order_with_its_sub_folders(
        tmp_path, monkeypatch):
    # Given a sort limit of 5, a folder of 8 images and 2 sub-folders, and one of 5 entries
    monkeypatch.setattr(walk, "SORT_LIMIT", 5)
    big, small = tmp_path / "big", tmp_path / "small"
    big.mkdir()
    for i in range(8):
        write(str(big / f"{i}.jpg"), b"x")
    for sub in ("s1", "s2"):
        (big / sub).mkdir()
        write(str(big / sub / "in.png"), b"x")
    small.mkdir()
    for name in ("e.jpg", "d.jpg", "c.jpg", "b.jpg", "a.jpg"):
        write(str(small / name), b"x")
    # When each is walked
    got_big = list(iter_image_paths([str(big)]))
    got_small = list(iter_image_paths([str(small)]))
    # Then the big one follows os.scandir's order (sub-folders entered where they come), every file
    # once; the small one is sorted
    order = [e.name for e in os.scandir(big)]
    expected = []
    for name in order:
        expected += [str(big / name / "in.png")] if name.startswith("s") else [str(big / name)]
    assert got_big == expected
    assert got_small == [str(small / n) for n in ("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg")]


def _scratch_folder(tmp_path, files: int) -> str:
    """A folder for `files` empty files: on /dev/shm when it is a tmpfs with room (creating a million
    files there takes seconds, on a busy disk it can take minutes), else under tmp_path."""
    try:
        shm = os.statvfs("/dev/shm")
        if shm.f_favail > files * 1.5:
            return tempfile.mkdtemp(prefix="hashfleet-million-", dir="/dev/shm")
    except OSError:
        pass
    return tempfile.mkdtemp(dir=tmp_path)


def _walk_peak(folder: str) -> tuple[int, int]:
    """(paths listed, the walker's peak traced memory in bytes) for a walk whose consumer keeps no paths."""
    return traced_peak(lambda: sum(1 for _ in iter_image_paths([folder])))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_folder_too_big_to_sort_is_walked_in_memory_that_does_not_grow_with_its_size(tmp_path, monkeypatch):
    # Given a sort limit of 1,000 names and one folder of 20,000 empty image-named files
    monkeypatch.setattr(walk, "SORT_LIMIT", 1_000)
    small, large = 20_000, 100_000
    folder = _scratch_folder(tmp_path, large)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for i in range(small):
                os.mknod(f"{i:07d}.jpg", 0o644 | stat.S_IFREG, dir_fd=fd)
            # When it is walked, and walked again once it holds five times as many files
            seen_small, peak_small = _walk_peak(folder)
            for i in range(small, large):
                os.mknod(f"{i:07d}.jpg", 0o644 | stat.S_IFREG, dir_fd=fd)
            seen_large, peak_large = _walk_peak(folder)
        finally:
            os.close(fd)
        # Then every file is listed once, and the peak did not grow with the folder (holding the large
        # listing would take ~35 MB; the walker holds about SORT_LIMIT names, well under 1 MB)
        assert (seen_small, seen_large) == (small, large)
        assert peak_large < 1.5 * peak_small + 500_000, f"{peak_small / 1e6:.2f} -> {peak_large / 1e6:.2f} MB"
        assert peak_large < 3_000_000, f"walker peak {peak_large / 1e6:.1f} MB"
        # And the order is the file system's, the same on a second walk of the unchanged folder
        with os.scandir(folder) as listing:
            pairs = zip(iter_image_paths([folder]), listing, strict=True)
            assert all(os.path.basename(path) == entry.name for path, entry in pairs)
    finally:
        shutil.rmtree(folder)
