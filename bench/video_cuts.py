"""Cuts found again: how many of a film's cuts (tasks/video/cuts.py, frames decoded as the workers decode
them) its copies show at the same moment of the footage, and how many cuts a copy has that its film has not.

    python -m bench.video_cuts [--corpus ~/corpus] [--cache-dir ~/.cache/hashfleet-bench] [--debs DIR]

Over the video set of bench/video_quality.py (built there, reused here). A film's cut at film time c is found
again in a copy when the copy has a cut within :data:`SLACK` seconds of c mapped into it (the truth of the
set: [src_start, src_end) of the film shown at [start, end) of the copy); only cuts inside the shared
footage, away from its edges, count. A copy's cut not found so in its film is `extra`. The printed rows are
per variant, real clips and slideshows apart.
"""

from __future__ import annotations

import argparse
import collections

import av

from bench.sets import DEFAULT_CACHE, DEFAULT_CORPUS
from bench.video_clips import DEFAULT_DEBS
from bench.video_corpus import DAMAGED, MUST_NOT_PAIR, REPORT_ONLY, build
from tasks.video.cuts import CutFinder
from tasks.video.sample import stream_origin
from tasks.video.segment import frames_skipped

#: Seconds between a cut and its copy's that count as the same cut (a few frames: another frame rate, or
#: the first frame decoded after a cut when B-frames are skipped).
SLACK = 0.2


def cuts_of(path: str, step: float = 1.0) -> list[float]:
    """The times of the cuts in a video, its frames decoded as a worker decodes them."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = frames_skipped(container)
        origin, finder, found = stream_origin(stream), CutFinder(step), []
        for frame in container.decode(stream):
            if frame.time is not None and not frame.is_corrupt:
                cut = finder.saw(frame.time - origin, frame)
                if cut is not None:
                    found.append(cut)
    return found


def compare(film_cuts: list[float], copy_cuts: list[float], video) -> tuple[int, int, int]:
    """(film cuts inside the shared footage, of them found again in the copy, the copy's cuts not in the
    film) for one copy."""
    shift = video.start - video.src_start
    inside = [c for c in film_cuts if video.src_start + SLACK < c < video.src_end - SLACK]
    found = sum(any(abs(c + shift - d) <= SLACK for d in copy_cuts) for c in inside)
    mine = [d for d in copy_cuts if video.start + SLACK < d < video.end - SLACK]
    extra = sum(not any(abs(d - shift - c) <= SLACK for c in film_cuts) for d in mine)
    return len(inside), found, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--debs", default=DEFAULT_DEBS)
    args = parser.parse_args()
    videos, _, _ = build(args.corpus, args.cache_dir, debs=args.debs)
    films = {v.source: v for v in videos if v.variant == "source"}
    film_cuts = {s: cuts_of(v.path) for s, v in films.items()}
    totals: dict[tuple[bool, str], list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0])
    for video in videos:
        if video.variant in ("source", DAMAGED, *REPORT_ONLY, *MUST_NOT_PAIR):
            continue
        inside, found, extra = compare(film_cuts[video.source], cuts_of(video.path), video)
        row = totals[(video.real, video.variant)]
        row[0] += inside
        row[1] += found
        row[2] += extra
        row[3] += 1
    print("| footage | variant | copies | film cuts in the shared footage | found again | copies' extra cuts |")
    print("|---|---|---|---|---|---|")
    for (real, variant), (inside, found, extra, copies) in sorted(totals.items(), key=lambda kv: (not kv[0][0],
                                                                                                   kv[0][1])):
        print(f"| {'real clips' if real else 'slideshows'} | {variant} | {copies} | {inside} | {found} | {extra} |")
    print("films' cuts:", {films[s].path.rsplit("/", 1)[-1]: [round(c, 2) for c in cuts]
                           for s, cuts in film_cuts.items()})


if __name__ == "__main__":
    main()
