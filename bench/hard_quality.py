"""Recall per rough edit and false pairs of `dupes` (and of the references) on bench/hard_edits.py's sets.

    python -m bench.hard_quality [--set dev|held] [--cache-dir DIR] [--max-distance K] [--no-refs]
                                 [--turned 2 4 6]

Every file of the set is hashed in-process exactly as a worker does (tasks.image.multihash.hash_data, the
default algorithms), the index is searched with the code `hashfleet dupes` runs (producer/near/find.py:
candidates, then verification), and each (edit, original) pair counts as found when `dupes` pairs them.
A false pair is a pair of files made from different photos (bench/near_variants.related_key). References:
imagehash's phash <= 12 and PDQ <= 64 (pdqhash) over all pairs, on Pillow's decode.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import glob  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import time  # noqa: E402
from multiprocessing import get_context  # noqa: E402

import numpy as np  # noqa: E402

from bench.hard_edits import EDITS, NEW_EDITS, write_set  # noqa: E402
from bench.near_variants import related_key  # noqa: E402
from bench.sets import DEFAULT_CACHE, DEFAULT_CORPUS  # noqa: E402

#: Reference specs: name -> largest distance (the issue's).
REFERENCES = {"ih_phash": 12, "pdq": 64}


def read_set(truth: str) -> list[dict]:
    root = os.path.dirname(truth)
    with open(truth, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["path"] = os.path.join(root, row["path"])
    return rows


def code_digest() -> str:
    """Digest of the code that decides the hashes (tasks/image): the hash cache is keyed by it."""
    digest = hashlib.sha1()
    for name in sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(__file__)), "tasks", "image", "*.py"))):
        with open(name, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:12]


def _hash(path: str):
    from tasks.errors import FileUnreadable
    from tasks.image.algos import DEFAULT_ALGOS, parse_algos
    from tasks.image.multihash import hash_data

    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return hash_data(data, parse_algos(DEFAULT_ALGOS), 8)
    except FileUnreadable:
        return None


def _init() -> None:
    import cv2

    cv2.setNumThreads(1)


def build_index(rows: list[dict], processes: int = 2, cache: bool = True):
    """A HashIndex of the set's files as `hashfleet run` at its defaults would write it."""
    from producer.near.hashindex import HashIndex, hashes_of
    from tasks.image.algos import DEFAULT_ALGOS, algo_bytes, parse_algos

    algos = parse_algos(DEFAULT_ALGOS)
    cached = os.path.join(os.path.dirname(rows[0]["path"]), "..", f"hashes-{code_digest()}.pickle")
    if cache and os.path.isfile(cached):
        with open(cached, "rb") as handle:
            hashed = pickle.load(handle)  # noqa: S301 (the benchmark's own cache)
    else:
        with get_context("fork").Pool(processes, _init) as pool:
            hashed = pool.map(_hash, [r["path"] for r in rows], 8)
        if cache:
            with open(cached, "wb") as handle:
                pickle.dump(hashed, handle)
    if any(h is None for h in hashed):
        raise SystemExit("undecodable benchmark file")
    columns, start = {}, 0
    for algo in algos:
        width = algo_bytes(algo, 8)
        columns[algo] = hashes_of(algo, b"".join(h.packed[start : start + width] for h in hashed).hex(), len(rows))
        start += width
    sizes = np.array([os.path.getsize(r["path"]) for r in rows], np.int64)
    mtimes = np.array([int(os.path.getmtime(r["path"])) for r in rows], np.int64)
    return HashIndex(
        [r["path"] for r in rows],
        columns,
        np.array([h.quality for h in hashed], np.int16),
        sizes,
        mtimes,
        np.array([h.width for h in hashed], np.int64),
        np.array([h.height for h in hashed], np.int64),
        algos,
        8,
    )


def references(rows: list[dict], cache: str) -> dict[str, np.ndarray]:
    """{reference: (N x N) distances}, hashes cached as JSON lines by path."""

    path = os.path.join(cache, "hard-edits-refs.jsonl")
    found = {}
    if os.path.isfile(path):
        with open(path) as handle:
            found = {r.pop("key"): r for r in map(json.loads, handle)}
    todo = [r["path"] for r in rows if r["path"] not in found]
    if todo:
        with get_context("fork").Pool(2) as pool, open(path, "a") as sink:
            for key, refs in zip(todo, pool.map(_refs, todo, 8), strict=True):
                sink.write(json.dumps({"key": key, **refs}) + "\n")
                found[key] = refs
    from bench import near_pairs as pairs

    out = {}
    for name in REFERENCES:
        hexes = [found[r["path"]].get(name, "") for r in rows]
        if all(hexes):
            out[name] = pairs.distances(pairs.to_words(hexes))
    return out


def _refs(path: str) -> dict:
    from bench.near_hashes import references as compute

    with open(path, "rb") as handle:
        return compute(handle.read())


def score(rows: list[dict], pairs: set[tuple[int, int]]) -> tuple[dict[str, float], int, list]:
    """(recall per edit, false pairs, the false pairs) of `pairs` (i < j)."""
    original = {r["source"]: i for i, r in enumerate(rows) if r["edit"] == "original"}
    family = [related_key(r["source"]) for r in rows]
    recall = {}
    for edit in EDITS:
        hits = [tuple(sorted((i, original[r["source"]]))) in pairs for i, r in enumerate(rows) if r["edit"] == edit]
        recall[edit] = sum(hits) / len(hits)
    false = [(i, j) for i, j in pairs if family[i] != family[j]]
    return recall, len(false), false


#: Copies a person would not keep over the original (item 5 of issue 20).
DEGRADED = ("resize50", "jpeg_q10", "crop10", "crop4", "square", "rotate", "letterbox", "screenshot", "grey")


def keeper_shares(rows: list[dict], index, a: np.ndarray, b: np.ndarray, d: np.ndarray) -> dict[str, tuple]:
    """Per keep policy: (groups, groups keeping a degraded copy, which edits were kept)."""
    from collections import Counter

    from producer.near.defaults import KEEP_POLICIES
    from producer.near.find import groups_around_representatives
    from producer.near.keep import choose_keeper

    groups = groups_around_representatives(len(rows), a, b, d)
    out = {}
    for policy in KEEP_POLICIES:
        kept = Counter(rows[choose_keeper(index, g.members, policy)]["edit"] for g in groups)
        out[policy] = (len(groups), sum(kept[e] for e in DEGRADED), dict(kept.most_common(5)))
    return out


def turned_within(index, k: int, bound: int) -> set[tuple[int, int]]:
    """The pairs of `dupes` with the turned regions joined within `bound` bits instead of the default."""
    from producer.near import regions
    from producer.near.find import near_pairs

    default, regions.TURNED_MAX_DISTANCE = regions.TURNED_MAX_DISTANCE, bound
    try:
        a, b, _ = near_pairs(index, k)
    finally:
        regions.TURNED_MAX_DISTANCE = default
    return set(zip(a.tolist(), b.tolist(), strict=True))


def pairs_within(dist: np.ndarray, k: int) -> set[tuple[int, int]]:
    i, j = np.nonzero(np.triu(dist <= k, 1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="dev", choices=("dev", "held"))
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--max-distance", type=int, default=None)
    parser.add_argument("--no-refs", action="store_true")
    parser.add_argument("--turned", type=int, nargs="*", default=[],
                        help="also score dupes with the turned regions joined within each of these bounds")
    args = parser.parse_args(argv)
    from producer.near.defaults import DEFAULT_MAX_DISTANCE
    from producer.near.find import near_pairs

    rows = read_set(write_set(args.corpus, args.cache_dir, args.set))
    started = time.monotonic()
    index = build_index(rows)
    print(f"{len(rows)} files hashed in {time.monotonic() - started:.1f} s")
    k = DEFAULT_MAX_DISTANCE if args.max_distance is None else args.max_distance
    started = time.monotonic()
    a, b, d = near_pairs(index, k)
    found = set(zip(a.tolist(), b.tolist(), strict=True))
    print(f"dupes: {len(found)} pairs in {time.monotonic() - started:.1f} s")
    table = {f"dupes (K {k})": score(rows, found)}
    old = near_pairs(index, k, regions=False)
    table[f"dupes --no-regions (K {k})"] = score(rows, set(zip(old[0].tolist(), old[1].tolist(), strict=True)))
    for bound in args.turned:
        table[f"dupes, turned <= {bound}"] = score(rows, turned_within(index, k, bound))
    if not args.no_refs:
        for name, dist in references(rows, args.cache_dir).items():
            table[f"{name}<={REFERENCES[name]}"] = score(rows, pairs_within(dist, REFERENCES[name]))
    names = list(table)
    print("| edit | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for edit in EDITS:
        print(f"| {edit} | " + " | ".join(f"{table[n][0][edit]:.3f}" for n in names) + " |")
    new = {n: np.mean([table[n][0][e] for e in NEW_EDITS]) for n in names}
    print("| new edits, mean | " + " | ".join(f"{new[n]:.3f}" for n in names) + " |")
    print("| false pairs | " + " | ".join(str(table[n][1]) for n in names) + " |")
    for i, j in table[names[0]][2][:10]:
        print("  false:", rows[i]["path"], rows[j]["path"])
    print("\n| --keep | groups | kept a degraded copy | share | most kept edits |\n|---|---:|---:|---:|---|")
    for policy, (groups, degraded, kept) in keeper_shares(rows, index, a, b, d).items():
        print(f"| {policy} | {groups} | {degraded} | {degraded / max(groups, 1):.3f} | {kept} |")


if __name__ == "__main__":
    main()
