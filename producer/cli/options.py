"""Click options shared by `run`, `submit`, `wait`, `resume` and `status`.

An option that is also a setting (--broker, --result-backend, --chunk-size; --workers on `run`) reads no
environment variable itself: click passes None when it is not given, and `Settings.from_env` (tasks/settings.py)
takes the flag, else HASHFLEET_*, else the default, with one set of bounds and one error style for both.
"""

from __future__ import annotations

import os

import click

from tasks.image.algos import DEFAULT_ALGOS, check_hash_size, parse_algos
from tasks.settings import CHUNK_SIZE_LIMIT, VIDEO_FPS_LIMIT


def _check_hash_size(_ctx, _param, value: int) -> int:
    try:
        return check_hash_size(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (8 and 16 are usual)") from None


def _check_algos(_ctx, _param, value: str) -> str:
    try:
        return ",".join(parse_algos(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _stack(*decorators):
    def apply(fn):
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn
    return apply


broker_options = _stack(
    click.option("--broker", default=None,
                 help="redis://, rediss:// or amqp:// URL; workers run elsewhere  [env HASHFLEET_BROKER_URL]"),
    click.option("--result-backend", default=None,
                 help="Result backend URL  [env HASHFLEET_RESULT_BACKEND; default: the broker if Redis]"),
)

job_options = _stack(
    click.argument("paths", nargs=-1, required=True, type=click.Path()),
    click.option("--algo", default=DEFAULT_ALGOS, show_default=True, callback=_check_algos,
                 help="Hashes to compute, comma-separated, from one decode; the first is the primary (the `hash` "
                      "column, exact-duplicate groups). dhash: robust difference hash (area-averaged, transparency "
                      "on white; JPEGs decoded directly at 1/2-1/8 scale). phash: DCT hash of the same decode; "
                      "phash-centre: phash of the middle 92 % (finds border crops). dhash-classic: bit-exact with "
                      "the PyImageSearch/OpenCV recipe (full cv2.imread decoding, slower). `hashfleet dupes` and "
                      "`search` use phash and phash-centre."),
    click.option("--hash-size", type=int, default=8,
                 show_default=True, callback=_check_hash_size, help="Grid side; the hash has hash-size^2 bits."),
    click.option("--chunk-size", type=int, default=None,
                 help=f"Files per task, at most {CHUNK_SIZE_LIMIT:,}  [env HASHFLEET_CHUNK_SIZE; default: 256, less "
                      f"for small jobs]"),
    click.option("--follow-symlinks/--no-follow-symlinks", default=False, show_default=True,
                 help="Descend into symlinked folders (each folder once, so loops end)."),
    click.option("--index", "index_path", type=click.Path(dir_okay=False), default=None,
                 help="A previous output (.sqlite best): files with unchanged size and mtime keep their "
                      "hash there and are not hashed again."),
    click.option("--no-videos", "videos", is_flag=True, flag_value=False, default=None,
                 help="Leave video files out (by default their sampled frames are indexed)  [env HASHFLEET_VIDEOS]"),
    click.option("--video-fps", type=float, default=None,
                 help=f"Frames sampled per second of video, at most {VIDEO_FPS_LIMIT:g}  [env HASHFLEET_VIDEO_FPS; "
                      f"default: 1]"),
)

output_options = _stack(
    click.option("--groups", "groups_out", type=click.Path(dir_okay=False), default=None,
                 help="Also write exact-duplicate groups {hash: [paths]} as JSON here."),
    click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="Give up (exit 1) if the job has not finished after this many seconds; the job "
                      "goes on on the workers."),
)


def check_output_paths(*targets: str | None) -> None:
    from producer.outputs.formats import output_format

    for i, target in enumerate(targets):
        if not target:
            continue
        if i == 0:
            output_format(target)
        if not os.path.isdir(os.path.dirname(os.path.abspath(target))):
            raise click.BadParameter(f"folder of {target!r} does not exist", param_hint="output")
