"""Turn raw timings into medians, ratios and markdown tables (printed and written to bench/out/).

Two medians per contender: over every kept run, and over the "clean" runs only (other processes used at
most CONTENDED_SHARE of the CPU meanwhile; bench/hygiene.py). Ratios are given for both.

    python -m bench.report bench/out/results-<time>.json     # re-render a finished run's tables
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys

from bench.contenders import DHASH_SUFFIX, Outcome
from bench.hygiene import CONTENDED_SHARE
from bench.quality import MAX_DIFF_BITS, MAX_DIFF_SHARE, Quality

#: Issue targets (reported against, never tuned to): (set, label, numerator, denominator, per-image time
#: ratio? else throughput ratio, at most? else at least, bound). Each is reported for the default algorithms
#: and for `--algo dhash` (numerator and denominator with contenders.DHASH_SUFFIX; the floor has none).
TARGETS = (
    ("camera", "warm-1 / decode floor", "hashfleet-warm-1", "floor", True, True, 1.05),
    ("large", "warm-1 / decode floor", "hashfleet-warm-1", "floor", True, True, 0.70),
    ("small", "warm-1 / decode floor", "hashfleet-warm-1", "floor", True, True, 0.95),
    ("camera", "warm-2 / warm-1 (throughput)", "hashfleet-warm-2", "hashfleet-warm-1", False, False, 1.95),
    ("camera", "embedded-1 / warm-1 (time)", "hashfleet-embedded-1", "hashfleet-warm-1", True, True, 1.10),
)
MS = 1000.0


@dataclasses.dataclass
class Row:
    name: str
    given: int
    hashed: int
    seconds: list[float]
    clean_seconds: list[float]
    cpu: float  # median CPU seconds of the benchmark's own process tree
    foreign: float  # largest share of the CPU other processes used during a kept run
    redone: int  # runs redone because of other processes' CPU use

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def time(self, clean: bool = False) -> float | None:
        """Median seconds over all kept runs, or over the clean ones (None when there is none)."""
        if not clean:
            return self.median
        return statistics.median(self.clean_seconds) if self.clean_seconds else None

    def per_image(self, clean: bool = False) -> float | None:
        seconds = self.time(clean)
        return None if seconds is None else seconds / self.given

    def rate(self, clean: bool = False) -> float | None:
        """Images per second over the files this contender was given."""
        seconds = self.time(clean)
        return None if seconds is None else self.given / seconds


def summarize(outcomes: dict[str, list[Outcome]]) -> dict[str, Row]:
    rows = {}
    for name, runs in outcomes.items():
        rows[name] = Row(name, runs[-1].given, min(o.hashed for o in runs), [o.seconds for o in runs],
                         [o.seconds for o in runs if o.foreign <= CONTENDED_SHARE],
                         statistics.median(o.cpu for o in runs), max(o.foreign for o in runs),
                         sum(o.attempts - 1 for o in runs))
    return rows


#: (label, numerator, denominator, per-image time ratio? else throughput ratio, issue target).
RATIOS = (
    ("warm-1 time per image / decode floor", "hashfleet-warm-1", "floor", True,
     "<= 1.05 camera, 0.70 large, 0.95 small"),
    ("warm-1 --algo dhash time per image / decode floor", f"hashfleet-warm-1{DHASH_SUFFIX}", "floor", True, ""),
    ("warm-2 time per image / decode floor", "hashfleet-warm-2", "floor", True, ""),
    ("original-p1 time per image / decode floor", "original-p1", "floor", True, ""),
    ("imagehash time per image / decode floor", "imagehash", "floor", True, ""),
    ("warm-1 img/s / original-p1 img/s", "hashfleet-warm-1", "original-p1", False, ""),
    ("warm-2 img/s / original-p2 img/s", "hashfleet-warm-2", "original-p2", False, ""),
    ("warm-2 img/s / warm-1 img/s", "hashfleet-warm-2", "hashfleet-warm-1", False, ">= 1.95 on camera"),
    ("warm-2 img/s / warm-1 img/s, --algo dhash", f"hashfleet-warm-2{DHASH_SUFFIX}", f"hashfleet-warm-1{DHASH_SUFFIX}",
     False, ""),
    ("embedded-2 img/s / embedded-1 img/s", "hashfleet-embedded-2", "hashfleet-embedded-1", False, ""),
    ("original-p2 img/s / original-p1 img/s", "original-p2", "original-p1", False, ""),
    ("warm-1 img/s / embedded-1 img/s", "hashfleet-warm-1", "hashfleet-embedded-1", False, ">= 1/1.10 on camera"),
    ("warm-1 img/s / imagehash img/s", "hashfleet-warm-1", "imagehash", False, ""),
)


def ratio(rows: dict[str, Row], num: str, den: str, per_image: bool, clean: bool = False) -> float | None:
    if num not in rows or den not in rows:
        return None
    pick = (lambda r: r.per_image(clean)) if per_image else (lambda r: r.rate(clean))
    a, b = pick(rows[num]), pick(rows[den])
    return None if a is None or b is None else a / b


def _short(path: str) -> str:
    """Folder and name of a path (enough to find a file of a set)."""
    return os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))


def _fmt(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.2f}{suffix}"


def set_markdown(name: str, desc: dict, rows: dict[str, Row], quality: dict[str, Quality],
                 repeats: int) -> str:
    floor = rows.get("floor")
    sizes = f"{desc['mp_min']:.2f} / {desc['mp_median']:.2f} / {desc['mp_max']:.2f} MP (min / median / max)"
    lines = [f"### {name}", "",
             f"{desc['files']} files ({desc['distinct_contents']} distinct contents), "
             f"{desc['total_mb']:.0f} MB, {sizes}; formats {desc['formats']}; "
             f"the original script lists {desc['original_accepts']} of them.", "",
             f"{repeats} round-robin repeat(s); clean = other processes used <= {CONTENDED_SHARE:.0%} of the "
             "CPU during the run.", "",
             "| contender | files given | hashed | median s | min-max s | median s, clean runs (n) | img/s | "
             "s/img vs floor | CPU-ms/img | other CPU max | redone |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows.values():
        versus = f"{row.per_image() / floor.per_image():.2f}x" if floor else "-"
        lines.append(f"| {row.name} | {row.given} | {row.hashed} | {row.median:.2f} | "
                     f"{min(row.seconds):.2f}-{max(row.seconds):.2f} | "
                     f"{_fmt(row.time(clean=True))} ({len(row.clean_seconds)}) | {row.rate():.1f} | {versus} | "
                     f"{row.cpu / row.given * MS:.2f} | {row.foreign:.1%} | {row.redone} |")
    lines += ["", "| ratio | all runs | clean runs only | issue target |", "|---|---:|---:|---|"]
    for label, num, den, per_image, target in RATIOS:
        value = ratio(rows, num, den, per_image)
        if value is not None:
            lines.append(f"| {label} | {value:.2f} | {_fmt(ratio(rows, num, den, per_image, True))} | "
                         f"{target} |")
    if quality:
        lines += ["", "Hash quality vs full-resolution `dhash` reference (target: <= "
                  f"{MAX_DIFF_SHARE:.0%} of files differ, by <= {MAX_DIFF_BITS} bit):", "",
                  "| output | compared | differing | share | max bits | bits histogram | missing | "
                  "largest margin of a flipped bit (gray levels) |",
                  "|---|---:|---:|---:|---:|---|---:|---:|"]
        for label, q in quality.items():
            lines.append(f"| {label} | {q.compared} | {q.differing} | {q.share:.2%} | {q.max_bits} | "
                         f"{q.histogram} | {q.missing} | {q.max_flip_margin:.2f} |")
        first = next(iter(quality.values()))
        if first.worst:
            lines += ["", f"Most-changed files ({next(iter(quality))}): "
                      + "; ".join(f"`{_short(p)}` {b} bit(s), margin <= {m:.2f}"
                                  for p, b, m in first.worst)]
    return "\n".join(lines) + "\n"


def targets_markdown(all_rows: dict[str, dict[str, Row]], quality: dict[str, dict[str, Quality]]) -> str:
    """One line per issue target: the default algorithms and `--algo dhash` side by side, each as measured over
    all runs / clean runs only, and whether that meets the target."""
    lines = ["| set | ratio | target | default algos, all / clean | --algo dhash, all / clean | met (default/dhash) |",
             "|---|---|---|---:|---:|---|"]
    for name, label, num, den, per_image, at_most, bound in TARGETS:
        rows = all_rows.get(name)
        if rows is None:
            continue
        cells, met = [], []
        for suffix in ("", DHASH_SUFFIX):
            values = [ratio(rows, num + suffix, den if den == "floor" else den + suffix, per_image, clean)
                      for clean in (False, True)]
            cells.append(" / ".join(_fmt(v, "x") for v in values))
            met.append("-" if values[0] is None else "yes" if (values[0] <= bound) == at_most else "no")
        lines.append(f"| {name} | {label} | {'<=' if at_most else '>='} {bound:.2f}x | {cells[0]} | {cells[1]} | "
                     f"{' / '.join(met)} |")
    for name in all_rows:
        q = quality.get(name, {}).get("hashfleet-warm-1")
        if q:
            lines.append(f"| {name} | hash diff vs full-resolution dhash | <= {MAX_DIFF_SHARE:.0%} of files, <= "
                         f"{MAX_DIFF_BITS} bit | {q.differing}/{q.compared} files, max {q.max_bits} bit | | "
                         f"{'yes' if q.meets_target else 'no'} |")
    return "\n".join(lines) + "\n"


def rerender(json_path: str) -> str:
    """The set sections and targets of a results JSON written by bench.run."""
    with open(json_path) as handle:
        data = json.load(handle)
    parts, all_rows, all_quality = [], {}, {}
    for name, raw in data["raw"].items():
        outcomes = {k: [Outcome(**o) for o in runs] for k, runs in raw["runs"].items()}
        all_rows[name] = summarize(outcomes)
        all_quality[name] = {k: Quality(**{**q, "histogram": {int(b): n for b, n in q["histogram"].items()}})
                             for k, q in raw["quality"].items()}
        parts.append(set_markdown(name, raw["description"], all_rows[name], all_quality[name],
                                  data["args"]["repeats"]))
    parts += ["### Issue targets", "", targets_markdown(all_rows, all_quality)]
    return "\n".join(parts)


if __name__ == "__main__":
    print(rerender(sys.argv[1]))
