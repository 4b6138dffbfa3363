"""Every name a job gives its tasks and stored keys, in one place (no Celery, no numpy here).

A job id is random; everything else is derived from it, so a re-sent chunk, `resume` or a redelivered
message finds the same task and the same stored data instead of adding new ones.
"""

from __future__ import annotations

import uuid

#: Task names (shown in Flower, used for routing).
CHUNK_TASK = "hashfleet.hash_chunk"
#: Task name of a job's video segments (tasks/video/task.py); its ids are chunk ids numbered after the
#: image chunks, so the producer's window sends, follows, re-sends and drains them like chunks.
VIDEO_TASK = "hashfleet.index_videos"
#: Hex digits of a job id (48 random bits: collisions are negligible among the jobs one Redis keeps).
JOB_ID_DIGITS = 12


def new_job_id() -> str:
    return uuid.uuid4().hex[:JOB_ID_DIGITS]


def chunk_id_prefix(job_id: str) -> str:
    """What every chunk task id of a job starts with (its index follows)."""
    return f"{job_id}-chunk-"


def chunk_task_id(job_id: str, index: int) -> str:
    """Id of a job's chunk task number `index`."""
    return f"{chunk_id_prefix(job_id)}{index}"


def marker_id(job_id: str) -> str:
    """Id under which the producer records that the job exists (its loss means the backend lost data)."""
    return f"{job_id}-marker"


def data_id(chunk_task_id: str) -> str:
    """Id under which a chunk stores its packed per-file data (beside its small task result)."""
    return f"{chunk_task_id}-data"


def checkpoint_id(chunk_task_id: str) -> str:
    """Where a chunk hashed in isolation keeps its progress (tasks/checkpoint.py)."""
    return f"{chunk_task_id}-progress"


def job_data_ids(job_id: str, chunks: int) -> list[str]:
    """Where every chunk of a job stores its packed data, in chunk order."""
    return [data_id(chunk_task_id(job_id, i)) for i in range(chunks)]


#: Task name of one part of the distributed near-duplicate join (tasks/nearjoin/task.py), and its id.
JOIN_PART_TASK = "hashfleet.join_part"


def join_part_task_id(join_id: str, index: int) -> str:
    """Id of a join's part task number `index` (its pairs are stored under :func:`data_id` of it)."""
    return f"{join_id}-part-{index}"


def join_data_ids(join_id: str, parts: int) -> list[str]:
    """Where every part of a join stores its packed pairs, in part order."""
    return [data_id(join_part_task_id(join_id, i)) for i in range(parts)]


#: Task name of the join's chord callback; its id, the Redis key of the hashes every part reads (also the
#: sign the join still exists), and that of the groups of a join that has them.
JOIN_MERGE_TASK = "hashfleet.join_merge"
join_merge_task_id = "{}-join-merge".format
join_hashes_key = "hashfleet-join-{}-hashes".format
join_groups_key = "hashfleet-join-{}-groups".format
