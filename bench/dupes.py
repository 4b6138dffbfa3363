"""`hashfleet dupes` and `search` at a million files: time and peak memory of the near-duplicate pairs (phash
with centre-crop hashes, the default) and of loading a 1,000,000-file index plus answering one query.

    python -m bench.dupes [--n 1000000] [--k 8 10] [--seed 0]

Hashes are realistic, not uniform: hashfleet's own (phash, centre phash, quality) of the corpus photos, their
make_variants.py variants and the issue's edits (bench/near_quality.py's cache), replicated the way
bench/nearjoin.py replicates phashes: distinct pictures are a corpus pair with 6-24 random bits flipped (the
same bits in both hashes, as one picture's two hashes move together), copies (20 %) a distinct one with as
many bits flipped as a real corpus edit changed, and 0.1 % low-information images (quality 0). Each
measurement runs in a fresh process, so its peak RSS (VmHWM) is its own.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench.nearjoin import (
    CACHE_DIR,
    COPY_SHARE,
    CORPUS,
    DISTINCT_MAX_FLIPS,
    DISTINCT_MIN_FLIPS,
    LOW_INFO_SHARE,
    corpus_hashes,
    flip_masks,
    vm_hwm_mb,
)

#: Query image for the search measurement (a committed sample).
QUERY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data", "images",
                     "butterfly.jpg")


def our_hashes(cache_dir: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(phash, centre phash, quality) of every file bench/near_quality.py hashed (its newest cache)."""
    caches = sorted(glob.glob(os.path.join(cache_dir, "near-ours-*.jsonl")), key=os.path.getmtime)
    if not caches:
        raise SystemExit("no bench/near_quality.py cache: run `python -m bench.near_quality` first")
    rows = [json.loads(line) for line in open(caches[-1], encoding="utf-8")]
    rows = [r for r in rows if r.get("phash") and r.get("centre")]
    as_u64 = [np.array([int(r[k], 16) for r in rows], np.uint64) for k in ("phash", "centre")]
    return as_u64[0], as_u64[1], np.array([r["quality"] for r in rows], np.int16)


def replicate(n: int, seed: int, cache_dir: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n realistic (phash, centre, quality) triples, shuffled."""
    full, centre, quality = our_hashes(cache_dir)
    _, edit_distances = corpus_hashes(cache_dir, CORPUS)
    rng = np.random.default_rng(seed)
    n_low, n_copy = round(n * LOW_INFO_SHARE), round(n * COPY_SHARE)
    n_distinct = n - n_low - n_copy
    pick = rng.integers(len(full), size=n_distinct)
    mask = flip_masks(rng, rng.integers(DISTINCT_MIN_FLIPS, DISTINCT_MAX_FLIPS + 1, n_distinct))
    distinct = (full[pick] ^ mask, centre[pick] ^ mask, quality[pick])
    copy = rng.integers(n_distinct, size=n_copy)
    edit = flip_masks(rng, rng.choice(edit_distances, n_copy))
    copies = (distinct[0][copy] ^ edit, distinct[1][copy] ^ edit, distinct[2][copy])
    low = rng.integers(0, 2**63, n_low, dtype=np.uint64) & np.uint64(0x8000_0000_0000_00FF)
    lows = (low, low, np.zeros(n_low, np.int16))
    order = rng.permutation(n)
    return tuple(np.concatenate(parts)[order] for parts in zip(distinct, copies, lows, strict=True))


def measure_pairs(path: str, k: int) -> dict:
    """In this fresh process: near_pairs over the saved hashes, as `hashfleet dupes` runs it."""
    from producer.near.find import groups_around_representatives, near_pairs
    from producer.near.hashindex import HashIndex

    saved = np.load(path)
    n = len(saved["full"])
    none = np.full(n, -1, np.int64)
    index = HashIndex([""] * n, {"phash": saved["full"], "phash-centre": saved["centre"]}, saved["quality"],
                      none, none, none, none, ("phash", "phash-centre"), 8)
    started, cpu = time.perf_counter(), time.process_time()
    a, b, d = near_pairs(index, k)
    pairs_s = time.perf_counter() - started
    groups = groups_around_representatives(n, a, b, d)
    return {"k": k, "pairs": len(a), "groups": len(groups), "pairs_s": pairs_s,
            "total_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu, "rss_mb": vm_hwm_mb()}


def measure_search(index_path: str, k: int) -> dict:
    """In this fresh process: what `hashfleet search INDEX QUERY` does, timed from the start."""
    started = time.perf_counter()
    from producer.near.find import query_distances
    from producer.near.hashindex import load_index
    from producer.near.output import hash_query

    data = load_index(index_path, ("phash",), ("phash-centre",), with_paths=False)
    loaded = time.perf_counter()
    distance = query_distances(data, hash_query(QUERY, tuple(data.hashes)), 8)
    near = np.flatnonzero(distance <= k)
    data.paths_of(near[np.lexsort((near, distance[near]))][:20].tolist())
    return {"load_s": loaded - started, "total_s": time.perf_counter() - started, "matches": len(near),
            "rss_mb": vm_hwm_mb()}


def write_index(path: str, full: np.ndarray, centre: np.ndarray, quality: np.ndarray) -> None:
    from producer.outputs.formats import Record, write_records

    records = (Record(f"/data/photos/d{i // 1000:04d}/IMG_{i:07d}.JPG", f"{int(f):016x}", "", 1, 1,
                      (f"{int(f):016x}", f"{int(c):016x}"), int(q), 4000, 3000)
               for i, (f, c, q) in enumerate(zip(full, centre, quality, strict=True)))
    write_records(path, records, {"algo": "dhash,phash,phash-centre", "hash_size": "8"})


def fresh(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.dupes", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, nargs="*", default=[8, 10], help="distances for the pairs (none: search only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=CACHE_DIR)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)  # internal: KIND PATH, in a fresh process
    parser.add_argument("--search-k", type=int, default=8)
    args = parser.parse_args(argv)
    if args.measure:
        kind, path = args.measure
        result = measure_pairs(path, args.k[0]) if kind == "pairs" else measure_search(path, args.search_k)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="hashfleet-dupes-") as tmp:
        full, centre, quality = replicate(args.n, args.seed, args.cache_dir)
        hashes = os.path.join(tmp, "hashes.npz")
        np.savez(hashes, full=full, centre=centre, quality=quality)
        print(f"n = {args.n}, seed {args.seed}: {len(np.unique(full))} distinct phashes, "
              f"{int((quality < 10).sum())} low-information")
        print("| K | pairs | groups | pairs s | pairs + groups s | CPU s | peak RSS MB |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for k in args.k:
            r = fresh("--measure", "pairs", hashes, "--k", str(k))
            print(f"| {k} | {r['pairs']:,} | {r['groups']:,} | {r['pairs_s']:.1f} | {r['total_s']:.1f} | "
                  f"{r['cpu_s']:.1f} | {r['rss_mb']:.0f} |", flush=True)
        index = os.path.join(tmp, "index.sqlite")
        started = time.perf_counter()
        write_index(index, full, centre, quality)
        print(f"\n1 search on a {args.n:,}-file SQLite index (written in {time.perf_counter() - started:.0f} s), "
              f"K = {args.search_k}, fresh process each:")
        for _ in range(3):
            r = fresh("--measure", "search", index, "--search-k", str(args.search_k))
            print(f"- load {r['load_s']:.2f} s, load + answer {r['total_s']:.2f} s, {r['matches']} matches, "
                  f"peak RSS {r['rss_mb']:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
