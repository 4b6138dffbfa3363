"""The distributed near-duplicate join's tasks: one per part (tasks.nearjoin.join.join_parts), and the chord
callback. Thin: load the join's hashes (and groups), run the pure join, store packed pairs.

The callback does not gather the pairs: it only checks the parts and counts their pairs, and the
producer streams the stored parts itself, one at a time, into the one array it returns. Merging on a
worker would hold every pair there as well (about 20 bytes a pair while sorting: 9.3 M pairs at K = 10
on 1,000,000 hashes), store a second, merged copy in Redis, and ship it once more; the producer must hold
the pairs anyway, and sorting them there costs it no more than sorting them anywhere else.
"""

from __future__ import annotations

from celery import shared_task

from tasks.ids import JOIN_MERGE_TASK, JOIN_PART_TASK, join_data_ids
from tasks.nearjoin.join import pairs_for_part
from tasks.nearjoin.store import load_join
from tasks.nearjoin.wire import JOIN_WIRE_VERSION, pack_pairs, part_from_wire
from tasks.settings import settings_of
from tasks.store import FETCH_TIMEOUT, iter_stored_data, store_task_data


@shared_task(name=JOIN_PART_TASK, bind=True)
def join_part(self, join_id: str, part: dict) -> dict:
    """Find one part's pairs among the join's stored hashes (but those within one of its groups, when it has
    them) and store them packed under this task's data id. Deterministic: a redelivered part stores the same
    bytes under the same id."""
    part, grouped = part_from_wire(part)
    hashes, groups = load_join(self.backend.client, join_id, grouped)
    a, b, distance = pairs_for_part(hashes, part, groups=groups)
    payload = {"v": JOIN_WIRE_VERSION, "pairs": len(a), "packed": pack_pairs(a, b, distance, len(hashes))}
    key = store_task_data(self.backend, self.request.id, payload)
    return {"v": JOIN_WIRE_VERSION, "data": key, "pairs": len(a)}


@shared_task(name=JOIN_MERGE_TASK, bind=True)
def join_merge(self, summaries: list[dict], join_id: str, parts: int) -> dict:
    """Chord callback: the pair count of every part, in part order (the pairs stay stored, see above).

    The part list comes from the join id, not from `summaries`: if a redelivered part ever made the chord
    fire with one summary twice and another missing, the missing count is read from its stored data.
    """
    for summary in summaries:
        if summary.get("v") != JOIN_WIRE_VERSION:
            raise ValueError(f"join part summary version {summary.get('v')!r}, expected {JOIN_WIRE_VERSION}")
    counts = {summary["data"]: summary["pairs"] for summary in summaries}
    keys = join_data_ids(join_id, parts)
    missing = [key for key in keys if key not in counts]
    wait = settings_of(self.app).visibility_timeout + FETCH_TIMEOUT
    for key, payload in zip(missing, iter_stored_data(self.backend, missing, batch=1, timeout=wait), strict=True):
        counts[key] = payload["pairs"]
    return {"v": JOIN_WIRE_VERSION, "pairs": [counts[key] for key in keys]}
