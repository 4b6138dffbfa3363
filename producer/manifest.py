"""A job's manifest: everything needed to wait for, resume or re-write a job from another process.

Written by the producer before it enqueues (so killing the producer never loses the job) into
HASHFLEET_JOBS_DIR: `<job>.json` (settings, chunk sizes, walk errors) beside `<job>.chunks`, the chunks'
path blobs, and `<job>.reused`, chunks reused from an index (producer/spool.py), which a job's walk writes
there directly. Following the job adds `<job>.results` (the chunk results drained out of the backend,
producer/drained.py) and `<job>.sent` (producer/window.py). It is local on purpose: it must survive a
broker that lost its data, which is exactly when `resume` needs it.
"""

from __future__ import annotations

import json
import os

from producer.job import Job
from producer.outputs.atomic import atomic_path
from producer.spool import ChunkSpool, ReusedChunks
from producer.video.plan import VideoPlan
from tasks.errors import ConfigError, FileError
from tasks.image.algos import parse_algos, row_bytes
from tasks.pathblob import decode_paths, encode_paths

#: Manifest format version.
MANIFEST_VERSION = 3


def manifest_path(jobs_dir: str, job_id: str) -> str:
    if not job_id.isalnum():
        raise ConfigError(f"not a job id: {job_id!r}")
    return os.path.join(os.path.expanduser(jobs_dir), f"{job_id}.json")


def jobs_directory(jobs_dir: str) -> str:
    """HASHFLEET_JOBS_DIR, expanded and created (private to the user) if missing."""
    path = os.path.expanduser(jobs_dir)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def chunks_path(jobs_dir: str, job_id: str, kind: str = "chunks") -> str:
    """The job's spool of chunk blobs (`chunks`) or of chunks reused from an index (`reused`)."""
    return manifest_path(jobs_dir, job_id)[:-len(".json")] + f".{kind}"


def _spooled_at(chunks, path: str) -> bool:
    """Whether `chunks` (a list, dict or spool) is the spool file at `path` already."""
    return isinstance(chunks, ChunkSpool | ReusedChunks) and os.path.abspath(chunks.path) == os.path.abspath(path)


def save(job: Job, jobs_dir: str) -> str:
    path = manifest_path(jobs_directory(jobs_dir), job.id)
    # A job walked elsewhere (in memory, or spooled to another folder) is written into the jobs directory.
    blobs, reused = chunks_path(jobs_dir, job.id), chunks_path(jobs_dir, job.id, "reused")
    if not _spooled_at(job.blobs, blobs):
        ChunkSpool.write(blobs, job.blobs)
    if not _spooled_at(job.reused, reused):
        ReusedChunks.write(reused, job.reused.items(), row_bytes(job.algos, job.hash_size))
    doc = {
        "v": MANIFEST_VERSION, "id": job.id, "algo": job.algo, "hash_size": job.hash_size,
        "counts": job.counts,
        "walk_errors": [[encode_paths([p]), int(code)] for p, code in job.walk_errors],
        "reused": list(job.reused),
        "videos": job.videos.to_doc() if job.videos else None,
        "content_videos": job.content_videos,
    }
    with atomic_path(path) as temporary, open(temporary, "w", encoding="ascii") as handle:
        json.dump(doc, handle, ensure_ascii=True)
    return path


def load(job_id: str, jobs_dir: str) -> Job:
    path = manifest_path(jobs_dir, job_id)
    try:
        with open(path, encoding="ascii") as handle:
            doc = json.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"no job {job_id} in {jobs_dir} (HASHFLEET_JOBS_DIR)") from None
    if doc.get("v") != MANIFEST_VERSION:
        raise ConfigError(f"job {job_id}: manifest version {doc.get('v')}, expected {MANIFEST_VERSION}")
    width = row_bytes(parse_algos(doc["algo"]), doc["hash_size"])
    try:
        blobs = ChunkSpool.open(chunks_path(jobs_dir, job_id))
    except FileNotFoundError:
        raise ConfigError(f"job {job_id}: its chunk list {chunks_path(jobs_dir, job_id)} is missing") from None
    if len(blobs) != len(doc["counts"]):
        raise ConfigError(f"job {job_id}: {len(blobs)} chunks in {blobs.path}, the manifest has {len(doc['counts'])}")
    return Job(
        id=doc["id"], algo=doc["algo"], hash_size=doc["hash_size"], blobs=blobs, counts=doc["counts"],
        walk_errors=[(decode_paths(blob)[0], FileError(code)) for blob, code in doc["walk_errors"]],
        reused=ReusedChunks.open(chunks_path(jobs_dir, job_id, "reused"), doc["reused"], width),
        videos=VideoPlan.from_doc(doc["videos"]) if doc.get("videos") else None,
        content_videos=int(doc.get("content_videos", 0)),
    )
