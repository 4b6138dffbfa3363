"""Publish a chord whose header is streamed: one chunk signature built, sent and dropped at a time.

`celery.chord(header, body).apply_async()` freezes the whole header first and keeps every signature and
result object until it returns, about 5 kB per chunk (200 MB for a 10-million-file job), even when the
header is a generator. This sends the same messages Celery's group sends for a chord header (each task
carries the group id, its index in the group and the callback), after recording the chord's size in the
Redis result backend as Celery's group does before its last task, so the workers' `on_chord_part_return`
counts them and fires the callback exactly as for a chord built by Celery.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery, Signature
from celery.utils import uuid


def publish_chord(app: Celery, header: Iterable[Signature], size: int, body: Signature) -> str:
    """Send the `size` signatures of `header` as one chord whose callback is `body` (which must have its
    task id set); returns the chord's group id. The size is recorded first, so a header task finishing
    while later ones are still being sent never fires the callback early."""
    group_id = uuid()
    body.freeze(body.options["task_id"], group_id=group_id)
    app.backend.set_chord_size(group_id, size)
    sent = 0
    with app.producer_or_acquire() as producer:
        for index, signature in enumerate(header):
            signature.apply_async(producer=producer, add_to_parent=False, chord=body, group_id=group_id,
                                  group_index=index)
            sent += 1
    if sent != size:
        raise ValueError(f"chord header of {sent} tasks, {size} announced")
    return group_id
