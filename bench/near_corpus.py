"""The low-information filter on the whole corpus (photos and cut-outs, not only make_variants' candidates):
which files it flags, and which near-duplicate pairs it removes. Our hashes only (cached like the rest)."""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from bench import near_pairs as pairs
from bench.near_hashes import hash_all
from bench.near_variants import related_key
from tasks.image.phash import LOW_QUALITY

#: Files listed with their quality: those under this many times the threshold.
LISTED_FACTOR = 3
#: The spec whose pairs are examined: the recommended dupes setting.
SPEC_K = 8


def corpus_files(corpus: str) -> list[str]:
    """Image files under corpus/photos and corpus/cutouts, relative to the corpus."""
    found = []
    for top in ("photos", "cutouts"):
        for folder, _, names in os.walk(os.path.join(corpus, top)):
            found += [os.path.relpath(os.path.join(folder, n), corpus) for n in names]
    return sorted(found)


def corpus_section(corpus: str, cache: str) -> list[str]:
    rels = corpus_files(corpus)
    found = hash_all([{"key": f"corpus:{r}", "path": os.path.join(corpus, r)} for r in rels], cache, refs=False)
    keep = [i for i, r in enumerate(rels) if found[f"corpus:{r}"].get("phash")]
    rels = [rels[i] for i in keep]
    hashes = [found[f"corpus:{r}"] for r in rels]
    quality = np.array([h["quality"] for h in hashes])
    flagged = quality < LOW_QUALITY
    family = np.unique([related_key(r.split("/", 1)[1]) for r in rels], return_inverse=True)[1]
    near = pairs.with_centre(pairs.to_words([h["phash"] for h in hashes]),
                             pairs.to_words([h["centre"] for h in hashes])) <= SPEC_K  # fmt: skip
    near &= family[:, None] != family[None, :]
    involved = np.triu(near & (flagged[:, None] | flagged[None, :]), 1)
    lines = [f"Whole corpus ({len(rels)} decodable photos and cut-outs): {int(flagged.sum())} files have quality "
             f"< {LOW_QUALITY}. Files under {LISTED_FACTOR * LOW_QUALITY} (quality):", ""]  # fmt: skip
    for i in np.argsort(quality, kind="stable"):
        if quality[i] >= LISTED_FACTOR * LOW_QUALITY:
            break
        lines.append(f"- {quality[i]}{' (flagged)' if flagged[i] else ''}: `{rels[i]}`")
    lines += ["", f"Pairs of different, unrelated files within `phash|centre<={SPEC_K}`: "
              f"{int(np.triu(near, 1).sum())}; {int(involved.sum())} involve a flagged file and are removed by "
              "the filter:", ""]  # fmt: skip
    for i, j in zip(*np.nonzero(involved), strict=True):
        lines.append(f"- `{rels[i]}` ({quality[i]}) ~ `{rels[j]}` ({quality[j]})")
    folders = Counter()
    for i, j in zip(*np.nonzero(np.triu(near, 1) & ~involved), strict=True):
        folders[" ~ ".join(sorted({"/".join(rels[i].split("/")[:2]), "/".join(rels[j].split("/")[:2])}))] += 1
    lines += ["", "The others, by folder: " + ", ".join(f"{name} {n}" for name, n in folders.most_common()) + "."]
    return lines
