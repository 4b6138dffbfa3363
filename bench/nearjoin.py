"""All near-duplicate pairs among 1,000,000 realistic 64-bit phashes: tasks.nearjoin.join beside faiss and brute force.

    python -m bench.nearjoin [--n 1000000] [--k 8 10 12 14] [--methods nearjoin nearjoin-2proc faiss-multihash
                              faiss-flat brute] [--seed 0] [--sample 2000] [--blocks B]
                              [--cache-dir ~/.cache/hashfleet-bench] [--corpus ~/corpus]

The hashes: imagehash `phash` of the corpus photos and of their make_variants.py edits (cached as .npz),
replicated to n (see :func:`replicate`). Every method runs in its own subprocess on the same hashes, so
its wall time, CPU time and peak RSS (VmHWM) are its own. faiss and brute force answer query by query and
run the first `--sample` hashes as queries against all n; their time for all n is extrapolated linearly.
Pair sets are compared with the first method's: the whole sets where both are whole, and always the pairs
whose smaller index is in the sample.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from multiprocessing import get_context

import numpy as np

from support.procstat import peak_rss_kib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Where the phashes of the corpus and the variants are cached.
CACHE_DIR = os.path.expanduser("~/.cache/hashfleet-bench")
#: The corpus built by ../shared/data/build_corpus.sh.
CORPUS = os.path.expanduser("~/corpus")
#: The variant generator of the data kit (run on the corpus photos when the variants are missing).
MAKE_VARIANTS = "/work/shared/data/make_variants.py"
#: Variants per source folder: 1000 takes every usable photo (252 of them, 3780 variants).
VARIANTS_PER_SOURCE = 1000
#: Share of replicas that are low-information images (flat skies, blank scans): a flat or smooth-gradient
#: picture's phash with 0..LOW_INFO_MAX_FLIPS bits flipped. They all fall within K of each other.
LOW_INFO_SHARE = 0.001
LOW_INFO_MAX_FLIPS = 2
#: Share of replicas that are near-duplicate copies (an edit) of another replica; the copy's bit flips follow
#: the measured phash distances between corpus photos and their expected-match variants.
COPY_SHARE = 0.2
#: The other replicas are distinct pictures of similar content: a corpus hash with a uniform number of bit
#: flips in [DISTINCT_MIN_FLIPS, DISTINCT_MAX_FLIPS] (they keep the corpus hashes' biased bits).
DISTINCT_MIN_FLIPS = 6
DISTINCT_MAX_FLIPS = 24
#: Queries the query-by-query methods (faiss, brute force) run: on all n each would take far longer than the
#: 60 s target (at K = 10, faiss-flat took 17 s per 20,000 queries of 1,000,000, multihash 37 s).
SAMPLE_QUERIES = 2000
#: Queries brute force compares with all n at once (16 x 1,000,000 uint64: 128 MB).
BRUTE_ROWS = 16
#: Every method, in the order they run (the first one's pairs are the reference).
ALL_METHODS = ("nearjoin", "nearjoin-2proc", "faiss-multihash", "faiss-flat", "brute")


def phash64(path: str) -> int | None:
    """imagehash phash of one image as a uint64, first bit most significant (None when Pillow cannot read it)."""
    import imagehash
    from PIL import Image

    try:
        with Image.open(path) as image:
            bits = imagehash.phash(image).hash.flatten()
    except (OSError, ValueError, SyntaxError):
        return None
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def corpus_hashes(cache_dir: str, corpus: str) -> tuple[np.ndarray, np.ndarray]:
    """phash of every corpus photo and variant (cached), and the source-to-variant distances of expected matches."""
    cache = os.path.join(cache_dir, "phash-photos-variants.npz")
    if os.path.exists(cache):
        saved = np.load(cache)
        return saved["hashes"], saved["edit_distances"]
    photos, variants = os.path.join(corpus, "photos"), os.path.join(cache_dir, "variants")
    if not os.path.exists(os.path.join(variants, "GROUND_TRUTH.csv")):
        cmd = [sys.executable, MAKE_VARIANTS, photos, variants, "--per-source", str(VARIANTS_PER_SOURCE)]
        subprocess.run(cmd, check=True)
    paths = sorted(os.path.join(d, f) for d, _, files in os.walk(photos) for f in files)
    with open(os.path.join(variants, "GROUND_TRUTH.csv"), newline="") as handle:
        truth = [row for row in csv.DictReader(handle) if row["expected_match"] == "1"]
    paths += sorted(os.path.join(d, f) for d, _, files in os.walk(variants) for f in files if f != "GROUND_TRUTH.csv")
    with get_context("spawn").Pool(2) as pool:
        hashed = dict(zip(paths, pool.map(phash64, paths, chunksize=16), strict=True))
    edits = [
        hashed[os.path.join(photos, row["source_path"])] ^ hashed[os.path.join(variants, row["variant_path"])]
        for row in truth
        if hashed.get(os.path.join(photos, row["source_path"])) is not None
        and hashed.get(os.path.join(variants, row["variant_path"])) is not None
    ]
    hashes = np.array([h for h in hashed.values() if h is not None], dtype=np.uint64)
    edit_distances = np.bitwise_count(np.array(edits, dtype=np.uint64))
    os.makedirs(cache_dir, exist_ok=True)
    np.savez(cache, hashes=hashes, edit_distances=edit_distances)
    return hashes, edit_distances


def flip_masks(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """One uint64 per entry of `counts` with that many distinct random bits set."""
    masks = np.empty(len(counts), dtype=np.uint64)
    step = 1 << 16
    for lo in range(0, len(counts), step):
        count = counts[lo : lo + step]
        order = np.argsort(rng.random((len(count), 64)), axis=1)
        bits = np.zeros((len(count), 64), dtype=bool)
        np.put_along_axis(bits, order, np.arange(64)[None, :] < count[:, None], axis=1)
        masks[lo : lo + step] = np.packbits(bits, axis=1).view(">u8").ravel()
    return masks


def low_info_hashes() -> np.ndarray:
    """phash of flat pictures (black, gray, white) and smooth gradients in four directions: skies, blank scans."""
    import imagehash
    from PIL import Image

    ramp = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))
    pictures = [np.full((64, 64), v, np.uint8) for v in (0, 128, 255)]
    pictures += [ramp, ramp[:, ::-1], ramp.T, ramp.T[::-1]]
    bits = [imagehash.phash(Image.fromarray(p)).hash.flatten() for p in pictures]
    return np.array([int.from_bytes(np.packbits(b).tobytes(), "big") for b in bits], dtype=np.uint64)


def replicate(base: np.ndarray, edit_distances: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n realistic hashes, shuffled: distinct pictures, near-duplicate copies and low-information images.

    Distinct: a random corpus hash with DISTINCT_MIN_FLIPS..DISTINCT_MAX_FLIPS random bits flipped (uniform).
    Copies (COPY_SHARE): a random distinct one with as many bits flipped as a random corpus edit changed.
    Low information (LOW_INFO_SHARE): a flat or gradient picture's phash with 0..LOW_INFO_MAX_FLIPS flips.
    """
    rng = np.random.default_rng(seed)
    n_low, n_copy = round(n * LOW_INFO_SHARE), round(n * COPY_SHARE)
    n_distinct = n - n_low - n_copy
    flips = rng.integers(DISTINCT_MIN_FLIPS, DISTINCT_MAX_FLIPS + 1, n_distinct)
    distinct = base[rng.integers(len(base), size=n_distinct)] ^ flip_masks(rng, flips)
    copies = distinct[rng.integers(n_distinct, size=n_copy)] ^ flip_masks(rng, rng.choice(edit_distances, n_copy))
    low = low_info_hashes()
    low = low[rng.integers(len(low), size=n_low)] ^ flip_masks(rng, rng.integers(0, LOW_INFO_MAX_FLIPS + 1, n_low))
    return rng.permutation(np.concatenate([distinct, copies, low]))


def vm_hwm_mb(pid: int | str = "self") -> float:
    """Peak resident set (VmHWM) of a process, in MiB."""
    return peak_rss_kib(pid) / 1024


def _part_with_peak(job):
    from tasks.nearjoin.join import pairs_for_part

    hashes, part = job
    return pairs_for_part(hashes, part), os.getpid(), vm_hwm_mb()


def run_method(method: str, hashes: np.ndarray, k: int, sample: int, blocks: int | None) -> tuple[tuple, float, int]:
    """(a, b) of the pairs found, the extra peak RSS of helper processes (MiB), and queries run (n when all)."""
    from tasks.nearjoin.join import join, join_parts, sort_pairs

    if method == "nearjoin":
        a, b, _ = join(hashes, k, blocks)
        return (a, b), 0.0, len(hashes)
    if method == "nearjoin-2proc":
        # Two value ranges per table so that two workers finish together whatever the tables cost.
        jobs = [(hashes, part) for part in join_parts(k, len(hashes), splits=2, blocks=blocks)]
        peaks = {}
        with get_context("fork").Pool(2) as pool:
            found = []
            for pairs, pid, peak in pool.imap_unordered(_part_with_peak, jobs):
                found.append(pairs)
                peaks[pid] = max(peaks.get(pid, 0.0), peak)
        a, b, _ = sort_pairs(*(np.concatenate(column) for column in zip(*found, strict=True)))
        return (a, b), sum(peaks.values()), len(hashes)
    queries = min(sample, len(hashes))
    if method == "brute":
        rows, cols = [], []
        for lo in range(0, queries, BRUTE_ROWS):
            distance = np.bitwise_count(hashes[lo : lo + BRUTE_ROWS, None] ^ hashes[None, :])
            hit_q, hit_c = np.nonzero(distance <= k)
            rows.append(hit_q + lo)
            cols.append(hit_c)
        q, c = np.concatenate(rows), np.concatenate(cols)
    else:
        import faiss

        codes = hashes.view(np.uint8).reshape(-1, 8)
        if method == "faiss-flat":
            index = faiss.IndexBinaryFlat(64)
        else:  # 3 tables of 21 bits probed within K // 3 flips: exact, as nhash * (nflip + 1) > K
            index = faiss.IndexBinaryMultiHash(64, 3, 21)
            index.nflip = k // 3
        index.add(codes)
        lims, _, ids = index.range_search(codes[:queries], k + 1)  # faiss keeps distances < radius
        q, c = np.repeat(np.arange(queries), np.diff(lims).astype(np.intp)), ids
    keep = q != c
    pairs = np.unique(np.minimum(q, c)[keep] * len(hashes) + np.maximum(q, c)[keep])
    return (pairs // len(hashes), pairs % len(hashes)), 0.0, queries


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the pool workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measure(method: str, hashes_path: str, k: int, sample: int, blocks: int | None) -> dict:
    """Run one method in this (fresh) process; its times, peak RSS and a digest of the pairs it found."""
    hashes = np.load(hashes_path)
    rss_before, wall, cpu = vm_hwm_mb(), time.perf_counter(), _cpu_seconds()
    (a, b), helpers_mb, queries = run_method(method, hashes, k, sample, blocks)
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    in_sample = a < sample
    digest = hashlib.sha256(np.stack([a[in_sample], b[in_sample]]).astype(np.int64).tobytes()).hexdigest()
    return {
        "method": method, "k": k, "queries": queries, "wall": wall, "cpu": cpu,
        "rss_mb": vm_hwm_mb() + helpers_mb, "data_mb": rss_before,
        "pairs": len(a) if queries == len(hashes) else None, "sample_pairs": int(in_sample.sum()),
        "sample_digest": digest[:12],
        "full_digest": hashlib.sha256(np.stack([a, b]).astype(np.int64).tobytes()).hexdigest()[:12]
        if queries == len(hashes) else None,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, nargs="+", default=[8, 10, 12, 14])
    parser.add_argument("--methods", nargs="+", default=list(ALL_METHODS), choices=ALL_METHODS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample", type=int, default=SAMPLE_QUERIES, help="queries of faiss and brute force")
    parser.add_argument("--blocks", type=int, help="nearjoin's block count (default: its choose_blocks)")
    parser.add_argument("--cache-dir", default=CACHE_DIR)
    parser.add_argument("--corpus", default=CORPUS)
    parser.add_argument("--measure", nargs=2, metavar=("METHOD", "HASHES_NPY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(*args.measure, args.k[0], args.sample, args.blocks)))
        return
    base, edit_distances = corpus_hashes(args.cache_dir, args.corpus)
    hashes = replicate(base, edit_distances, args.n, args.seed)
    print(f"{len(base)} corpus hashes, {args.n} replicas (seed {args.seed}), edit flips {np.bincount(edit_distances)}")
    print("| K | method | queries | wall s | CPU s | est. wall, all n s | peak RSS MB | pairs | pairs, a < sample |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="hashfleet-nearjoin-") as tmp:
        path = os.path.join(tmp, "hashes.npy")
        np.save(path, hashes)
        for k in args.k:
            reference = full_reference = None
            for method in args.methods:
                cmd = [sys.executable, "-m", "bench.nearjoin", "--measure", method, path, "--k", str(k)]
                cmd += ["--blocks", str(args.blocks)] if args.blocks else []
                out = subprocess.run(cmd + ["--sample", str(args.sample)], cwd=REPO, check=True, capture_output=True)
                row = json.loads(out.stdout.decode().strip().splitlines()[-1])
                reference = reference or row["sample_digest"]
                same = "same" if row["sample_digest"] == reference else "DIFFERENT"
                full_reference = full_reference or row["full_digest"]
                if row["full_digest"]:
                    same += ", all same" if row["full_digest"] == full_reference else ", all DIFFERENT"
                estimate = row["wall"] * args.n / row["queries"]
                print(
                    f"| {k} | {method} | {row['queries']} | {row['wall']:.1f} | {row['cpu']:.1f} | {estimate:.0f} "
                    f"| {row['rss_mb']:.0f} | {row['pairs'] or '-'} | {row['sample_pairs']} {same} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
