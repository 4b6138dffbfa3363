"""Near-duplicate quality: recall per edit and false pairs between different pictures, for every hash.

    python -m bench.near_quality [--corpus ~/corpus] [--cache-dir ~/.cache/hashfleet-bench] [--out FILE]

Files: the corpus photos make_variants.py takes (all 252 candidates), its 15 variants of each ("kit") and
the issue's 12 edits of each ("issue", bench/near_variants.py). An expected match is (edited copy, its
original); a false pair is any two files derived from different pictures (sources sharing a
near_variants.picture_key are one picture). Hashes: hashfleet dhash, phash, phash with its centre-crop
variant, quality (tasks/image/multihash.py); imagehash phash/dhash and PDQ as references (bench/near_hashes.py).
Writes bench/NEAR_QUALITY.md (tables) and, with --cost, times hashing in-process (bench/near_cost.py).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402

from bench import near_pairs as pairs  # noqa: E402
from bench.near_hashes import hash_all  # noqa: E402
from bench.near_variants import ISSUE_EDITS, ensure_kit_variants, picture_key, read_truth, related_key  # noqa: E402
from bench.sets import DEFAULT_CACHE, DEFAULT_CORPUS  # noqa: E402
from tasks.image.phash import LOW_QUALITY  # noqa: E402

#: Largest distance tabulated (PDQ's 256 bits need more).
TOP = 40
TOP_PDQ = 100
#: Thresholds reported per hash.
SWEEPS = {
    "dhash": range(6, 13), "phash": range(6, 17, 2), "phash|centre": range(4, 17, 2),
    "ih_phash": range(8, 15), "ih_dhash": range(6, 13), "pdq": (31, 48, 56, 64, 72, 80, 90),
}  # fmt: skip
#: AND combinations: phash (or phash|centre) <= K1 and dhash <= K2.
AND_K1 = range(8, 21, 2)
AND_K2 = range(10, 25, 2)
#: The issue's targets for the default.
TARGET_RECALL, TARGET_CROP, TARGET_CROP_BEYOND = 0.99, 0.90, 0.95
#: Quality thresholds tried for the low-information filter.
QUALITY_THRESHOLDS = (0, 1, 2, 5, 10, 15, 20, 30, 50)
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NEAR_QUALITY.md")


@dataclasses.dataclass
class Files:
    keys: list[str]
    source: list[str]
    transform: list[str]  # "original", "kit:<t>", "issue:<edit>"
    expected: list[int | None]
    hashes: list[dict]


def collect(corpus: str, cache: str) -> Files:
    truth = read_truth(ensure_kit_variants(corpus, os.path.join(cache, "near-variants")))
    variants_dir = os.path.join(cache, "near-variants")
    items, meta = [], []
    sources = sorted({row["source_path"] for row in truth})
    for src in sources:
        path = os.path.join(corpus, "photos", src)
        items.append({"key": f"orig:{src}", "path": path})
        meta.append((src, "original", None))
        for edit, expected in ISSUE_EDITS.items():
            items.append({"key": f"issue:{src}:{edit}", "path": path, "edit": edit})
            meta.append((src, f"issue:{edit}", expected))
    for row in truth:
        items.append({"key": f"kit:{row['variant_path']}", "path": os.path.join(variants_dir, row["variant_path"])})
        meta.append((row["source_path"], f"kit:{row['transform']}", int(row["expected_match"])))
    found = hash_all(items, cache)
    keep = [i for i, it in enumerate(items) if found[it["key"]].get("phash") and found[it["key"]].get("ih_phash")]
    return Files([items[i]["key"] for i in keep], [meta[i][0] for i in keep], [meta[i][1] for i in keep],
                 [meta[i][2] for i in keep], [found[items[i]["key"]] for i in keep])  # fmt: skip


def matrices(files: Files) -> dict[str, np.ndarray]:
    words = {name: pairs.to_words([h.get(name, "") for h in files.hashes])
             for name in ("dhash", "phash", "centre", "ih_phash", "ih_dhash", "pdq") if "pdq" != name
             or all(h.get("pdq") for h in files.hashes)}  # fmt: skip
    out = {name: pairs.distances(w) for name, w in words.items() if name != "centre"}
    out["phash|centre"] = pairs.with_centre(words["phash"], words["centre"])
    return out


def evaluate(files: Files, dist: dict[str, np.ndarray]) -> dict:
    n = len(files.keys)
    group = np.unique([picture_key(s) for s in files.source], return_inverse=True)[1]
    family = np.unique([related_key(s) for s in files.source], return_inverse=True)[1]
    cross = family[:, None] != family[None, :]  # unrelated pictures: every pair within K is a false pair
    related = (family[:, None] == family[None, :]) & (group[:, None] != group[None, :])
    flagged = np.array([h["quality"] < LOW_QUALITY for h in files.hashes])
    kept = cross & ~flagged[:, None] & ~flagged[None, :]
    original = {s: i for i, (s, t) in enumerate(zip(files.source, files.transform, strict=True)) if t == "original"}
    pair_rows = [(i, original[files.source[i]]) for i in range(n) if files.expected[i] is not None]
    var, org = np.array([p[0] for p in pair_rows]), np.array([p[1] for p in pair_rows])
    transform = np.array([files.transform[i] for i in var])
    expected = np.array([files.expected[i] for i in var]) == 1
    lost = flagged[var] | flagged[org]
    return {"cross": cross, "kept": kept, "related": related, "flagged": flagged, "var": var, "org": org,
            "transform": transform, "expected": expected, "lost": lost, "dist": dist, "group": group}  # fmt: skip


def row_for(ev: dict, pair_d: np.ndarray, fp_all: int, fp_kept: int, related: int) -> dict:
    """One table row from the distances of the (variant, original) pairs being within K (bools)."""
    exp, tr = ev["expected"], ev["transform"]

    def rec(mask):
        return float(pair_d[mask].mean()) if mask.any() else float("nan")

    per = {t: rec(exp & (tr == t)) for t in sorted(set(tr[exp]))}
    neg = ~exp
    return {"recall": rec(exp), "recall_kept": float((pair_d & ~ev["lost"])[exp].mean()), "per": per,
            "crop3": per.get("kit:crop3"), "crop4": per.get("issue:crop4"), "worst": min(per, key=per.get),
            "negatives": int(pair_d[neg].sum()), "fp": fp_all, "fp_kept": fp_kept, "related": related}  # fmt: skip


def sweep(ev: dict) -> list[tuple[str, dict]]:
    rows = []
    for name, ks in SWEEPS.items():
        if name not in ev["dist"]:
            continue
        d = ev["dist"][name]
        top = TOP_PDQ if name == "pdq" else TOP
        fp, fpk, rel = (pairs.cumulative_pairs(d, ev[m], top) for m in ("cross", "kept", "related"))
        pair_d = d[ev["var"], ev["org"]]
        rows += [(f"{name}<={k}", row_for(ev, pair_d <= k, int(fp[k]), int(fpk[k]), int(rel[k]))) for k in ks]
    for first in ("phash", "phash|centre"):
        a, b = ev["dist"][first], ev["dist"]["dhash"]
        fp, fpk, rel = (pairs.cumulative_pairs_2d(a, b, ev[m], TOP) for m in ("cross", "kept", "related"))
        pa, pb = a[ev["var"], ev["org"]], b[ev["var"], ev["org"]]
        for k1 in AND_K1:
            for k2 in AND_K2:
                within = (pa <= k1) & (pb <= k2)
                counts = int(fp[k1, k2]), int(fpk[k1, k2]), int(rel[k1, k2])
                rows.append((f"{first}<={k1} AND dhash<={k2}", row_for(ev, within, *counts)))
    return rows


def meets(row: dict, crop: float) -> bool:
    return row["fp_kept"] == 0 and row["recall_kept"] >= TARGET_RECALL and row["crop4"] >= crop


def recommend(rows: list[tuple[str, dict]]) -> tuple[str, dict] | None:
    """Among our hashes (no references), the spec with no false pair after the filter and the best recall
    that reaches the 4 % crop target beyond every reference (or the plain target when none does)."""
    ours = [(n, r) for n, r in rows if not n.startswith(("ih_", "pdq"))]
    for crop in (TARGET_CROP_BEYOND, TARGET_CROP):
        good = [(n, r) for n, r in ours if meets(r, crop)]
        if good:
            return max(good, key=lambda nr: (nr[1]["recall_kept"], nr[1]["crop4"]))
    return None


def false_pair_sources(ev: dict, files: Files, name: str, k: int, mask_key: str = "cross") -> Counter:
    d = ev["dist"][name]
    i, j = np.nonzero(np.triu(ev[mask_key] & (d <= k), 1))
    return Counter(tuple(sorted((files.source[a], files.source[b]))) for a, b in zip(i, j, strict=True))


def within(ev: dict, spec: str) -> np.ndarray:
    """(N x N) bools: the pairs `spec` ("h<=K" or "h1<=K1 AND h2<=K2") calls near-duplicates."""
    result = None
    for part in spec.split(" AND "):
        name, k = part.rsplit("<=", 1)
        near = ev["dist"][name] <= int(k)
        result = near if result is None else result & near
    return result


def threshold_rows(ev: dict, files: Files, specs: list[str]) -> list[tuple[int, int, int, list[tuple[int, float]]]]:
    """Per quality threshold T: (T, files flagged, originals flagged, [(false pairs, recall) per spec])."""
    quality = np.array([h["quality"] for h in files.hashes])
    is_orig = np.array([t == "original" for t in files.transform])
    near = {spec: within(ev, spec) for spec in specs}
    rows = []
    for threshold in QUALITY_THRESHOLDS:
        flagged = quality < threshold
        kept = ev["cross"] & ~flagged[:, None] & ~flagged[None, :]
        lost = flagged[ev["var"]] | flagged[ev["org"]]
        cells = []
        for spec in specs:
            found = near[spec][ev["var"], ev["org"]] & ~lost
            cells.append((int(np.triu(near[spec] & kept, 1).sum()), float(found[ev["expected"]].mean())))
        rows.append((threshold, int(flagged.sum()), int((flagged & is_orig).sum()), cells))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--cost", action="store_true", help="also time dhash alone vs all hashes (bench/near_cost.py)")
    args = parser.parse_args(argv)
    from bench.near_report import write_report

    files = collect(args.corpus, args.cache_dir)
    ev = evaluate(files, matrices(files))
    rows = sweep(ev)
    cost = None
    if args.cost:
        from bench.near_cost import measure

        cost = measure(args.corpus, args.cache_dir)
    from bench.near_corpus import corpus_section

    chosen = recommend(rows)
    corpus_lines = corpus_section(args.corpus, args.cache_dir)
    specs = ["dhash<=8", "ih_phash<=12", "phash<=12"] + ([chosen[0]] if chosen else [])
    thresholds = (specs, threshold_rows(ev, files, specs))
    write_report(args.out, files, ev, rows, chosen, cost, false_pair_sources, thresholds, corpus_lines)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
