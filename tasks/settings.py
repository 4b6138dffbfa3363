"""One settings object, read from HASHFLEET_* environment variables; CLI flags override fields."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from tasks.errors import ConfigError
from tasks.inputs.s3url import S3_SCHEME, is_s3_url, split_s3_url

#: Env var prefix shared by every setting.
ENV_PREFIX = "HASHFLEET_"
#: Wire serializers a worker accepts. Pickle is never among them: a message could run code.
SERIALIZERS = ("msgpack", "json")
#: Default serializer: msgpack carries packed hash bytes natively (json base64-wraps them).
DEFAULT_SERIALIZER = "msgpack"
#: Queue the chunk tasks and the merge callback go to.
DEFAULT_QUEUE = "hashfleet"
#: Paths per chunk task for large jobs: the per-chunk cost (producer/chunking.py, CHUNK_OVERHEAD_S) stays
#: under 2 % of a chunk's work even for small files. Smaller jobs get smaller chunks so every worker gets a
#: share, and tiny files or large fleets bigger ones (producer/chunking.py). HASHFLEET_CHUNK_SIZE fixes it
#: instead.
DEFAULT_CHUNK_SIZE = 256
#: Largest chunk size a user may set: a message of 100,000 paths is several MB, and one lost chunk that size
#: costs minutes of work (the automatic size stops at producer/chunking.py's MAX_CHUNK_SIZE).
CHUNK_SIZE_LIMIT = 100_000
#: Most local worker processes embedded mode starts (HASHFLEET_WORKERS); unset, one per usable core.
WORKERS_LIMIT = 1024
#: Redis visibility timeout (s): an unacked chunk is redelivered after this; must exceed the longest chunk.
DEFAULT_VISIBILITY_TIMEOUT = 3600
#: Largest image (width x height) a worker decodes; bigger ones are refused before any pixel memory is
#: allocated (passed to OpenCV as OPENCV_IO_MAX_IMAGE_PIXELS). 2**28 = 268 MP.
DEFAULT_MAX_PIXELS = 2**28
#: Memory (MiB) a pool process has besides its current image: Python, Celery, OpenCV and numpy loaded
#: (~60-110 MiB measured) with room for chunk data and allocator slack.
WORKER_BASE_MEMORY_MIB = 256
#: Peak bytes per pixel of one 8-bit image's decode and hash (measured 4.8-8.0 for PNG, WebP, BMP, TIFF on
#: both algorithms; 16-bit and float images take up to 40 on the robust path: docs/robustness.md).
DECODE_BYTES_PER_PIXEL = 8
#: Seconds of chunk work before a soft time limit turns the rest of the chunk into error records.
DEFAULT_SOFT_TIME_LIMIT = 600
#: Seconds one file may take to read, decode and hash before it is treated as hung (tasks/watchdog.py).
DEFAULT_FILE_TIMEOUT = 120.0
#: Seconds the producer gives one video's header probe (producer/video/probepool.py) before it plans the video
#: as one task and lets a worker, under its own isolation, find what is wrong with it. A probe takes
#: 0.2-2 ms of a core here; this leaves room for a slow network file system.
DEFAULT_PROBE_TIMEOUT = 30.0
#: How long (s) a result is kept in the backend (so `wait`/`resume` can find it).
DEFAULT_RESULT_EXPIRES = 7 * 24 * 3600
#: Seconds between plain progress lines when stderr is not a terminal.
DEFAULT_PROGRESS_INTERVAL = 5.0
#: Seconds without any chunk finishing, beyond the visibility timeout and one unacked sweep, before the
#: producer re-sends its pending chunks (a message lost between a worker's pop and its unacked record).
DEFAULT_STALL_MARGIN = 10.0
#: Seconds the producer keeps retrying a lost broker/backend (e.g. a Redis restart) before giving up.
DEFAULT_RECONNECT_TIMEOUT = 60.0
#: Where the producer keeps job manifests (for `status`, `wait`, `resume` from another process).
DEFAULT_JOBS_DIR = os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "hashfleet", "jobs")
#: Days a finished job's manifest and chunk spools are kept before `hashfleet jobs --prune` removes them
#: (the result backend forgets a job after DEFAULT_RESULT_EXPIRES, a week, too).
DEFAULT_JOBS_KEEP_DAYS = 7.0
#: Seconds to wait for the broker to answer before saying it is unreachable.
DEFAULT_CONNECT_TIMEOUT = 5.0
#: Frames per second sampled from each video (docs/video.md: how it was chosen).
DEFAULT_VIDEO_FPS = 1.0
#: Most frames per second a video may be sampled at (every frame of common video, at 30 or 60 fps).
VIDEO_FPS_LIMIT = 120
#: Seconds of 1080p30 video per video task (producer/video/plan.py): about 5 s of one core's work at the
#: default rate (bench/RESULTS.md), well inside HASHFLEET_FILE_TIMEOUT on slow disks, and a two-hour film
#: is 60 tasks.
DEFAULT_VIDEO_SEGMENT = 120.0

BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")
#: The merge and the producer read chunk data straight from Redis (tasks/store.py): results go to Redis.
BACKEND_SCHEMES = ("redis", "rediss")
#: Numeric fields that must be above zero (None, where allowed, means automatic).
POSITIVE = ("chunk_size", "visibility_timeout", "max_pixels", "soft_time_limit", "file_timeout", "result_expires",
            "connect_timeout", "progress_interval", "reconnect_timeout", "fleet_processes", "worker_max_memory",
            "workers", "jobs_keep_days", "video_fps", "video_segment", "window", "probe_timeout", "stall_margin")
#: Numeric fields with an upper bound too (inclusive).
UPPER_BOUNDS = {"chunk_size": CHUNK_SIZE_LIMIT, "workers": WORKERS_LIMIT, "video_fps": VIDEO_FPS_LIMIT}
#: The command-line flag that sets a field, where there is one. Click passes None for a flag not given and
#: :meth:`Settings.from_env` resolves flag, env var and default, so flags and env vars share these bounds
#: and error messages (docs/settings.md lists the same flags).
FLAGS = {"broker_url": "--broker", "result_backend": "--result-backend", "chunk_size": "--chunk-size",
         "workers": "--workers", "jobs_keep_days": "--older-than", "videos": "--no-videos",
         "video_fps": "--video-fps"}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything configurable, with its env var in the comment. Build with :meth:`from_env`."""

    broker_url: str | None = None  # HASHFLEET_BROKER_URL; None = embedded redis-server
    result_backend: str | None = None  # HASHFLEET_RESULT_BACKEND; default: the broker URL if Redis
    allowed_roots: tuple[str, ...] = ()  # HASHFLEET_ALLOWED_ROOTS (os.pathsep-separated, s3:// too); () = anywhere
    serializer: str = DEFAULT_SERIALIZER  # HASHFLEET_SERIALIZER
    queue: str = DEFAULT_QUEUE  # HASHFLEET_QUEUE
    chunk_size: int | None = None  # HASHFLEET_CHUNK_SIZE; None = automatic (producer/chunking.py)
    fleet_processes: int | None = None  # HASHFLEET_FLEET_PROCESSES; None = ask the workers (large jobs only)
    window: int | None = None  # HASHFLEET_WINDOW; chunks in flight; None = from the fleet (producer/window.py)
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT  # HASHFLEET_VISIBILITY_TIMEOUT
    max_pixels: int = DEFAULT_MAX_PIXELS  # HASHFLEET_MAX_PIXELS
    worker_max_memory: int | None = None  # HASHFLEET_WORKER_MAX_MEMORY (MiB); None = from max_pixels
    soft_time_limit: int = DEFAULT_SOFT_TIME_LIMIT  # HASHFLEET_SOFT_TIME_LIMIT
    file_timeout: float = DEFAULT_FILE_TIMEOUT  # HASHFLEET_FILE_TIMEOUT
    result_expires: int = DEFAULT_RESULT_EXPIRES  # HASHFLEET_RESULT_EXPIRES
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT  # HASHFLEET_CONNECT_TIMEOUT
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL  # HASHFLEET_PROGRESS_INTERVAL
    reconnect_timeout: float = DEFAULT_RECONNECT_TIMEOUT  # HASHFLEET_RECONNECT_TIMEOUT
    stall_margin: float = DEFAULT_STALL_MARGIN  # HASHFLEET_STALL_MARGIN
    jobs_dir: str = DEFAULT_JOBS_DIR  # HASHFLEET_JOBS_DIR
    jobs_keep_days: float = DEFAULT_JOBS_KEEP_DAYS  # HASHFLEET_JOBS_KEEP_DAYS; `hashfleet jobs --prune`
    workers: int | None = None  # HASHFLEET_WORKERS; embedded mode only; None = one per usable core
    videos: bool = True  # HASHFLEET_VIDEOS; False: the walk leaves video files out
    video_fps: float = DEFAULT_VIDEO_FPS  # HASHFLEET_VIDEO_FPS
    video_segment: float = DEFAULT_VIDEO_SEGMENT  # HASHFLEET_VIDEO_SEGMENT (seconds of 1080p30 video per task)
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT  # HASHFLEET_PROBE_TIMEOUT (seconds per video's probe)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Read HASHFLEET_* from `env` (default os.environ); keyword overrides that are not None win."""
        env = os.environ if env is None else env
        values = {}
        for field in dataclasses.fields(cls):
            raw = env.get(ENV_PREFIX + field.name.upper())
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(field, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).validated()

    def validated(self) -> Settings:
        """These settings, or ConfigError naming the first field that is out of range."""
        if self.serializer not in SERIALIZERS:
            raise ConfigError(f"serializer must be one of {', '.join(SERIALIZERS)}, not {self.serializer!r}")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in POSITIVE and value is not None and not value > 0:
                raise ConfigError(f"{setting_name(field.name)} must be a positive number, not {value!r}")
            if field.name in UPPER_BOUNDS and value is not None and value > UPPER_BOUNDS[field.name]:
                raise ConfigError(f"{setting_name(field.name)} must be at most {UPPER_BOUNDS[field.name]}, "
                                  f"not {value!r}")
        for name in ("queue", "jobs_dir"):
            if not getattr(self, name):
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must not be empty")
        for root in self.allowed_roots:
            if is_s3_url(root):
                try:
                    split_s3_url(root)
                except ValueError as exc:
                    raise ConfigError(f"{ENV_PREFIX}ALLOWED_ROOTS: {exc}") from None
            elif not os.path.isabs(root):
                raise ConfigError(f"{ENV_PREFIX}ALLOWED_ROOTS must hold absolute paths or s3:// URLs, not {root!r}")
        if self.result_backend and urlsplit(self.result_backend).scheme not in BACKEND_SCHEMES:
            raise ConfigError(f"result backend {urlsplit(self.result_backend).scheme!r} is not supported; "
                              f"use redis:// or rediss://")
        if self.broker_url is not None:
            scheme = urlsplit(self.broker_url).scheme
            if scheme not in BROKER_SCHEMES:
                raise ConfigError(
                    f"broker URL scheme {scheme!r} is not supported; use redis://, rediss:// or amqp://"
                )
            if self.backend_url is None:
                raise ConfigError(
                    "an AMQP broker needs a result backend for the merge step: "
                    "set HASHFLEET_RESULT_BACKEND=redis://host:6379/0 (or --result-backend)"
                )
        return self

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: `run` starts its own redis-server and workers."""
        return self.broker_url is None

    @property
    def backend_url(self) -> str | None:
        """The result backend: explicit, else the broker URL when the broker is Redis."""
        if self.result_backend:
            return self.result_backend
        if self.broker_url and urlsplit(self.broker_url).scheme in ("redis", "rediss"):
            return self.broker_url
        return None

    @property
    def local_workers(self) -> int:
        """Worker processes embedded mode starts: HASHFLEET_WORKERS, else one per core this process may use."""
        if self.workers is not None:
            return self.workers
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    @property
    def worker_memory_limit(self) -> int:
        """MiB of peak RSS after which a pool process is replaced once its chunk is done (Celery's
        `worker_max_memory_per_child`): HASHFLEET_WORKER_MAX_MEMORY, else enough for the largest 8-bit
        image the pixel limit allows, so only a process that met a bigger decode (16-bit, float) or kept
        memory is replaced."""
        if self.worker_max_memory is not None:
            return self.worker_max_memory
        return WORKER_BASE_MEMORY_MIB + -(-self.max_pixels * DECODE_BYTES_PER_PIXEL // 2**20)

    def to_env(self) -> dict[str, str]:
        """The HASHFLEET_* variables that reproduce these settings in another process."""
        env = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            if field.name == "allowed_roots":
                value = os.pathsep.join(value)
            env[ENV_PREFIX + field.name.upper()] = str(value)
        return env

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None}).validated()


def setting_name(field: str) -> str:
    """How an error names a setting: its flag, if it has one, and its env var."""
    variable = ENV_PREFIX + field.upper()
    return f"{FLAGS[field]} / {variable}" if field in FLAGS else variable


#: How a yes/no setting may be written.
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def _parse(field: dataclasses.Field, raw: str):
    name = ENV_PREFIX + field.name.upper()
    if field.name == "allowed_roots":
        return tuple(p if is_s3_url(p) else os.path.realpath(p) for p in split_roots(raw))
    kind = (field.type if isinstance(field.type, str) else field.type.__name__).replace(" | None", "")
    if kind == "bool":
        if raw.lower() in TRUE_WORDS + FALSE_WORDS:
            return raw.lower() in TRUE_WORDS
        raise ConfigError(f"{name} must be one of {', '.join(TRUE_WORDS + FALSE_WORDS)}, not {raw!r}")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    return raw


def split_roots(raw: str) -> list[str]:
    """The entries of an os.pathsep-separated list of roots. With ":" as the separator, `s3://b/p` is cut
    into `s3` and `//b/p`: they are joined again (so an s3 prefix cannot itself hold a ":")."""
    parts = raw.split(os.pathsep)
    scheme = S3_SCHEME.split(":")[0]
    roots: list[str] = []
    for part in parts:
        if roots and roots[-1] == scheme and part.startswith("//") and os.pathsep == ":":
            roots[-1] += ":" + part
        elif part:
            roots.append(part)
    return roots


def settings_of(app) -> Settings:
    """The Settings a Celery app was built with (tasks/app.py): the one source a task reads them from. Here,
    not in tasks/app.py, so task modules need not import the module that imports them."""
    return app.hashfleet_settings
