"""bench/NEAR_QUALITY.md from the results of bench/near_quality.py (tables only; no measuring here)."""

from __future__ import annotations

import datetime
from collections import Counter

import numpy as np

from tasks.image.phash import LOW_QUALITY

#: Everything after this line of the report is kept when the tables are regenerated.
HAND_WRITTEN = "<!-- written by hand from the tables above; kept by bench/near_quality.py -->\n"
#: AND combinations listed: the best ones by recall among those without false pairs after the filter.
AND_SHOWN = 8
#: Source pairs listed per false-pair breakdown.
SOURCES_SHOWN = 12
#: Specs whose per-edit recall is tabulated (when present), plus the recommendation.
PER_EDIT = ("dhash<=8", "ih_dhash<=8", "ih_phash<=12", "pdq<=64", "phash<=12", "phash|centre<=12")


def _pct(value) -> str:
    return "-" if value is None or value != value else f"{value:.3f}"


def _summary(rows) -> list[str]:
    lines = ["| spec | recall | recall, filtered | crop3 | crop4 | worst edit | negatives within | false pairs "
             "| false pairs, filtered | related pairs |",
             "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]  # fmt: skip
    singles = [(n, r) for n, r in rows if " AND " not in n]
    ands = sorted(((n, r) for n, r in rows if " AND " in n and r["fp_kept"] == 0),
                  key=lambda nr: (-nr[1]["recall_kept"], -nr[1]["crop4"]))[:AND_SHOWN]  # fmt: skip
    for name, r in singles + ands:
        lines.append(f"| {name} | {_pct(r['recall'])} | {_pct(r['recall_kept'])} | {_pct(r['crop3'])} | "
                     f"{_pct(r['crop4'])} | {r['worst']} {_pct(r['per'][r['worst']])} | {r['negatives']} | "
                     f"{r['fp']} | {r['fp_kept']} | {r['related']} |")  # fmt: skip
    return lines


def _per_edit(rows, chosen) -> list[str]:
    table = dict(rows)
    names = [n for n in PER_EDIT if n in table] + ([chosen] if chosen and chosen not in PER_EDIT else [])
    edits = sorted(table[names[0]]["per"])
    lines = ["| edit | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [f"| {e} | " + " | ".join(_pct(table[n]["per"][e]) for n in names) + " |" for e in edits]
    return lines


def _sources(counter: Counter) -> list[str]:
    return [f"  - {n} file pairs: `{a}` ~ `{b}`" for (a, b), n in counter.most_common(SOURCES_SHOWN)] + (
        [f"  - ... {len(counter) - SOURCES_SHOWN} more source pairs"] if len(counter) > SOURCES_SHOWN else []
    )


def _thresholds(specs, rows) -> list[str]:
    lines = ["| quality < T | files flagged | originals flagged | " + " | ".join(
        f"{s}: false pairs, recall" for s in specs) + " |", "|---:|---:|---:|" + "---:|" * len(specs)]  # fmt: skip
    for threshold, files, originals, cells in rows:
        lines.append(f"| {threshold} | {files} | {originals} | " + " | ".join(f"{fp}, {rec:.4f}" for fp, rec in cells)
                     + " |")  # fmt: skip
    return lines


def write_report(out, files, ev, rows, chosen, cost, false_pair_sources, thresholds, corpus_lines) -> None:
    flagged = ev["flagged"]
    quality = np.array([h["quality"] for h in files.hashes])
    is_orig = np.array([t == "original" for t in files.transform])
    lines = [
        "# Near-duplicate quality (bench/near_quality.py)", "",
        f"Generated {datetime.date.today()} by `python -m bench.near_quality --cost` (tables; the recommendation "
        "at the end is written by hand from them and kept when the tables are regenerated).", "",
        f"{len(files.keys)} files: {int(is_orig.sum())} corpus photos (make_variants.py candidates), "
        f"{sum(t.startswith('kit:') for t in files.transform)} make_variants.py variants, "
        f"{sum(t.startswith('issue:') for t in files.transform)} issue edits; "
        f"{len(set(ev['group'].tolist()))} distinct pictures; {int(ev['expected'].sum())} expected matches; "
        f"{int(np.triu(ev['cross'], 1).sum())} pairs of files from unrelated pictures, "
        f"{int(np.triu(ev['related'], 1).sum())} from related ones.", "",
        "Same picture (bench/near_variants.py `picture_key`): libjxl flower* (re-encodings, a crop, a small copy), "
        "mate Elephants at 3 sizes, GCompris files of the same name in two activities. Related pictures "
        "(`RELATED`: video frames, stereo pairs, one scene from two viewpoints or in two lights, the 4 colour "
        "variants of the Ubuntu-MATE wallpaper, Neuschwanstein photographed twice) are different pictures that "
        "any perceptual hash finds close: their pairs are counted apart, in *related pairs*.", "",
        "- recall: expected matches within K (edited copy vs its original); *filtered*: with the low-information "
        f"filter (quality < {LOW_QUALITY}: a pair with a flagged file is never reported, so it counts as missed).",
        "- crop3: make_variants' 3 % border crop; crop4: the issue's 4 % border crop.",
        "- negatives within: hard negatives (hflip, rot90, mirror, rot180) within K of their original (not "
        "counted as false pairs: they are the same picture).",
        "- false pairs: pairs of files derived from unrelated pictures within K; *filtered*: neither file flagged.",
        "- phash distances are always even (32 of the 64 bits are set: the median splits the block), so odd K "
        "equal the K below.",
        "- `phash|centre<=K`: min(phash-phash, phash-centre, centre-phash) <= K, centre = phash of the middle 92 %.",
        "", "## All specs", "", *_summary(rows), "", "## Recall per edit", "", *_per_edit(rows, chosen and chosen[0]),
        "", "## Low-information filter", "",
        f"Flagged (quality < {LOW_QUALITY}): {int(flagged.sum())} files, {int((flagged & is_orig).sum())} of them "
        "originals. Flagged originals (quality) and how many of their files are flagged:", "",
    ]  # fmt: skip
    for i in np.nonzero(flagged & is_orig)[0]:
        same = [j for j, s in enumerate(files.source) if s == files.source[i]]
        lines.append(f"- `{files.source[i]}` ({quality[i]}): {int(flagged[same].sum())} of {len(same)} files")
    lines += ["", "By threshold (T = 0: no filter):", "", *_thresholds(*thresholds)]
    lines += ["", "Quality of the originals: " + ", ".join(
        f"p{q} {int(np.percentile(quality[is_orig], q))}" for q in (1, 5, 10, 25, 50)), ""]  # fmt: skip
    for spec in ("dhash<=8", "ih_phash<=12", "phash<=12", chosen and chosen[0]):
        if not spec or " AND " in spec:
            continue
        name, k = spec.rsplit("<=", 1)
        both, kept = false_pair_sources(ev, files, name, int(k)), false_pair_sources(ev, files, name, int(k), "kept")
        removed = sum(both.values()) - sum(kept.values())
        lines += [f"False pairs of `{spec}`: {sum(both.values())} ({len(both)} source pairs); the filter removes "
                  f"{removed}; left:", *(_sources(kept) or ["  - none"]), ""]  # fmt: skip
    lines += ["### Whole corpus", "", *corpus_lines, ""]
    if "pdq" in ev["dist"]:
        pdq_q = np.array([h["pdq_quality"] for h in files.hashes])
        corr = np.corrcoef(quality[is_orig], pdq_q[is_orig])[0, 1]
        lines += [f"PDQ's own quality vs ours on the originals: correlation {corr:.2f}; PDQ quality < 50 on "
                  f"{int((pdq_q[is_orig] < 50).sum())} originals, ours < {LOW_QUALITY} on "
                  f"{int((quality[is_orig] < LOW_QUALITY).sum())}.", ""]  # fmt: skip
    if chosen:
        r = chosen[1]
        lines += ["## Best of our specs by the issue's targets (automatic pick)", "",
                  f"`{chosen[0]}` with the filter: recall {_pct(r['recall_kept'])}, crop4 {_pct(r['crop4'])}, "
                  f"crop3 {_pct(r['crop3'])}, false pairs {r['fp_kept']} ({r['fp']} unfiltered).", ""]  # fmt: skip
    if cost:
        lines += ["## Cost of the extra hashes (one decode)", "", *cost, ""]
    try:  # the recommendation, written by hand below the marker, survives a regeneration
        with open(out) as handle:
            kept = handle.read().partition(HAND_WRITTEN)[2]
    except OSError:
        kept = ""
    with open(out, "w") as handle:
        handle.write("\n".join(lines) + "\n" + HAND_WRITTEN + kept)
