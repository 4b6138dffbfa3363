"""The real clips of the video quality set: the video files Debian's `opencv-doc` package ships, taken from the
.deb that the corpus script (../shared/data/build_corpus.sh) downloaded into its cache, never fetched here.

Five are films of the set (each gets every variant): Megamind.avi (an animated film scene, 11 s, MPEG-4
Part 2), tree.avi (a hand before a tree, 30 s, Cinepak with dropped frames: 68 frames in 29.6 s), vtest.avi
(people walking, fixed camera, 80 s, MS-MPEG-4), box.mp4 and cup.mp4 (a hand-held object, 15 s and 8 s,
H.264; shipped gzipped). Megamind_bugy.avi is not a film: it is Megamind.avi's 270 frames re-encoded, with a
few damaged (a white block, a black band), and stamped 30 frames/s instead of 23.976, so a 1.25x faster copy
(9.0 s): the set counts it as a copy of Megamind reported like the `speed125` variant, not scored.

    dpkg-deb --fsys-tarfile opencv-doc_*.deb   (members extracted with Python's tarfile; .gz ones gunzipped)
"""

from __future__ import annotations

import glob
import gzip
import os
import subprocess
import tarfile

#: Where the corpus script keeps the packages it downloads (its CACHE/debs).
DEFAULT_DEBS = os.environ.get("HASHFLEET_BENCH_DEBS", os.path.expanduser("~/.cache/hashfleet-corpus/debs"))
PACKAGE = "opencv-doc"
_DATA = "./usr/share/doc/opencv-doc/examples/data/"
_HTML = "./usr/share/doc/opencv-doc/opencv4/html/"
#: Films of the set: file name in the cache -> member of the package.
FILMS = {
    "Megamind.avi": _DATA + "Megamind.avi",
    "tree.avi": _DATA + "tree.avi",
    "vtest.avi": _DATA + "vtest.avi",
    "box.mp4": _HTML + "box.mp4.gz",
    "cup.mp4": _HTML + "cup.mp4.gz",
}
#: The damaged, sped-up copy: its name, the film it copies, and the speed-up (30 frames/s for 2997/125).
DAMAGED, DAMAGED_OF, DAMAGED_SPEED = "Megamind_bugy.avi", "Megamind.avi", 30 / (2997 / 125)
MEMBERS = {**FILMS, DAMAGED: _DATA + DAMAGED}


def find_deb(debs: str = DEFAULT_DEBS) -> str | None:
    """The newest opencv-doc .deb in `debs`, or None."""
    found = sorted(glob.glob(os.path.join(debs, f"{PACKAGE}_*.deb")))
    return found[-1] if found else None


def extract(deb: str, out_dir: str) -> dict[str, str]:
    """Every clip of MEMBERS as a file in `out_dir` (extracted once: a file there is kept), by name."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {name: os.path.join(out_dir, name) for name in MEMBERS}
    wanted = {member: name for name, member in MEMBERS.items() if not os.path.exists(paths[name])}
    if not wanted:
        return paths
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE) as proc:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for entry in tar:
                name = wanted.pop(entry.name, None)
                if name is None:
                    continue
                data = tar.extractfile(entry).read()
                with open(paths[name] + ".tmp", "wb") as handle:
                    handle.write(gzip.decompress(data) if entry.name.endswith(".gz") else data)
                os.replace(paths[name] + ".tmp", paths[name])
        proc.stdout.read()  # let dpkg-deb finish writing before it is waited for
    if proc.returncode or wanted:
        raise SystemExit(f"video set: {deb}: dpkg-deb exit {proc.returncode}, missing {sorted(wanted.values())}")
    return paths
