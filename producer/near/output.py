"""What `dupes` writes (pairs CSV, groups JSON, keep plan CSV) and how `search` hashes a query image."""

from __future__ import annotations

import csv
import itertools

import numpy as np

from producer.near.defaults import DEFAULT_HASH
from producer.near.find import NearGroup
from producer.near.hashindex import MISSING, HashIndex
from producer.near.keep import choose_keeper, reasons
from producer.outputs.formats import json_line
from tasks.errors import ConfigError, FileUnreadable
from tasks.image.algos import algo_bytes

#: Columns of the plan: per group, the file kept and every other member as a candidate to remove, with the
#: reason (producer/near/keep.py): why the kept file is kept, and what it was preferred to each other for.
PLAN_FIELDS = ("group", "action", "path", "distance", "size", "width", "height", "mtime", "reason")
#: Hash size of an index's 64-bit hashes (the only size near-duplicates are searched at).
QUERY_HASH_SIZE = 8


def _value(array: np.ndarray, i: int):
    v = int(array[i])
    return None if v == MISSING else v


def write_pairs(path: str, index: HashIndex, a: np.ndarray, b: np.ndarray, d: np.ndarray,
                video_rows: list[tuple] = ()) -> None:
    """Every pair as a,b,distance (paths), in index order of a then b; then the video pairs' rows, whose
    further columns (producer/near/videodupes.PAIR_FIELDS: the shared footage) image pairs leave empty."""
    from producer.near.videodupes import PAIR_FIELDS

    with open(path, "w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
        out = csv.writer(handle)
        out.writerow(("a", "b", "distance", *PAIR_FIELDS))
        blank = ("",) * len(PAIR_FIELDS)
        for i, j, dist in zip(a.tolist(), b.tolist(), d.tolist(), strict=True):
            out.writerow((index.paths[i], index.paths[j], dist, *blank))
        out.writerows(video_rows)


def _members(index: HashIndex, group: NearGroup, keeper: int) -> list[dict]:
    return [{"path": index.paths[m], "distance": int(dist), "keep": m == keeper, "size": _value(index.sizes, m),
             "width": _value(index.widths, m), "height": _value(index.heights, m), "mtime": _value(index.mtimes, m)}
            for m, dist in zip(group.members.tolist(), group.distances.tolist(), strict=True)]


def write_groups(path: str, index: HashIndex, groups: list[NearGroup], policy: str,
                 video_groups: list[tuple[str, list[dict]]] = ()) -> None:
    """JSON: a list of {representative, keep, members: [{path, distance (to the representative), keep, size,
    width, height, mtime}]}, largest group first; then the groups of videos (producer/near/videodupes.py),
    whose members also say their duration and the footage shared with the representative."""
    def docs():
        for group in groups:
            keeper = choose_keeper(index, group.members, policy)
            yield {"representative": index.paths[group.representative], "keep": index.paths[keeper],
                   "members": _members(index, group, keeper)}
        for rep, members in video_groups:
            yield {"representative": rep, "keep": next(m["path"] for m in members if m["keep"]), "members": members}

    with open(path, "w", encoding="utf-8") as handle:
        handle.write("[")
        for n, doc in enumerate(docs()):
            handle.write(("," if n else "") + "\n" + json_line(doc))
        handle.write("\n]\n")


def _planned(index: HashIndex, group: NearGroup, policy: str) -> list[dict]:
    """A group's members as the plan lists them, each with the reason of producer/near/keep.py."""
    keeper = choose_keeper(index, group.members, policy)
    why = reasons(index, group.members, keeper, policy)
    members = _members(index, group, keeper)
    for m, member in zip(members, group.members.tolist(), strict=True):
        m["reason"] = why[member]
    return members


def write_plan(path: str, index: HashIndex, groups: list[NearGroup], policy: str,
               video_groups: list[tuple[str, list[dict]]] = ()) -> None:
    """CSV: per group (images, then videos), one `keep` row and one `remove-candidate` row per other member,
    with the reason it is kept or was not."""
    listed = (_planned(index, group, policy) for group in groups)
    listed = itertools.chain(listed, (members for _, members in video_groups))
    with open(path, "w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
        out = csv.writer(handle)
        out.writerow(PLAN_FIELDS)
        for n, members in enumerate(listed, 1):
            for m in sorted(members, key=lambda m: not m["keep"]):
                out.writerow((n, "keep" if m["keep"] else "remove-candidate", m["path"], m["distance"],
                              *("" if m[k] is None else m[k] for k in PLAN_FIELDS[4:-1]), m.get("reason", "")))


def hash_query(image: str, algos: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The hashes `algos` of one image file, computed exactly as the workers compute them."""
    from tasks.image.multihash import hash_data
    from tasks.inputs.readfile import read_image_file

    try:
        data, _ = read_image_file(image)
        packed = hash_data(data, algos, QUERY_HASH_SIZE).packed
    except FileUnreadable as exc:
        raise ConfigError(f"cannot hash {image}: {exc.code.description}") from None
    values, out, start = np.frombuffer(packed, ">u8").astype(np.uint64), {}, 0
    for algo in algos:
        words = algo_bytes(algo, QUERY_HASH_SIZE) // 8
        out[algo] = values[start] if words == 1 else values[start:start + words]
        start += words
    return out


def report_groups(index: HashIndex, groups: list[NearGroup], policy: str) -> list:
    """The groups as the HTML report takes them (producer/near/groups_model.py): the representative first (the
    distances are to it), the file `policy` keeps marked; `exact` when every member has its very phash
    (a crop matched through its centre hash may be at distance 0 and still `near`)."""
    from producer.near.groups_model import Group, Member

    out = []
    for group in groups:
        keeper = choose_keeper(index, group.members, policy)
        members = _members(index, group, keeper)
        full = index.hashes[DEFAULT_HASH][group.members]
        kind = "exact" if (full == full[0]).all() else "near"
        out.append(Group(kind, tuple(Member(m["path"], m["size"], m["width"], m["height"], m["mtime"], m["distance"],
                                            m["keep"]) for m in members)))
    return out
