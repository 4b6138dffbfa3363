"""Turn raw timings into medians, ratios and markdown tables (printed and written to bench/out/)."""

from __future__ import annotations

import dataclasses
import statistics

from bench.contenders import Outcome
from bench.quality import MAX_DIFF_BITS, MAX_DIFF_SHARE, Quality

#: Issue targets (reported against, never tuned to).
TARGET_WARM1_OVER_FLOOR = 1.25
TARGET_WARM1_VS_ORIGINAL1_CAMERA = 3.0
TARGET_TWO_OVER_ONE_CAMERA = 1.8


@dataclasses.dataclass
class Row:
    name: str
    given: int
    hashed: int
    median: float
    low: float
    high: float

    @property
    def rate(self) -> float:
        """Images per second over the files this contender was given."""
        return self.given / self.median

    @property
    def per_image(self) -> float:
        return self.median / self.given


def summarize(outcomes: dict[str, list[Outcome]]) -> dict[str, Row]:
    rows = {}
    for name, runs in outcomes.items():
        seconds = [o.seconds for o in runs]
        rows[name] = Row(name, runs[-1].given, min(o.hashed for o in runs), statistics.median(seconds),
                         min(seconds), max(seconds))
    return rows


def ratios(rows: dict[str, Row]) -> list[tuple[str, float, str]]:
    """(label, value, target text) for the ratios the issue asks about; skips contenders not run."""
    out = []

    def add(label: str, num: str, den: str, target: str = "", per_image: bool = False) -> None:
        if num in rows and den in rows:
            value = (rows[num].per_image / rows[den].per_image) if per_image else rows[num].rate / rows[den].rate
            out.append((label, value, target))

    add("hashfleet-warm-1 time per image / decode floor", "hashfleet-warm-1", "floor",
        f"<= {TARGET_WARM1_OVER_FLOOR}", per_image=True)
    add("hashfleet-warm-2 time per image / decode floor", "hashfleet-warm-2", "floor", per_image=True)
    add("original-p1 time per image / decode floor", "original-p1", "floor", per_image=True)
    add("imagehash time per image / decode floor", "imagehash", "floor", per_image=True)
    add("hashfleet-warm-1 img/s / original-p1 img/s", "hashfleet-warm-1", "original-p1",
        f"~{TARGET_WARM1_VS_ORIGINAL1_CAMERA} on camera")
    add("hashfleet-warm-2 img/s / original-p2 img/s", "hashfleet-warm-2", "original-p2")
    add("hashfleet-warm-2 img/s / hashfleet-warm-1 img/s", "hashfleet-warm-2", "hashfleet-warm-1",
        f">= {TARGET_TWO_OVER_ONE_CAMERA} on camera")
    add("hashfleet-embedded-2 img/s / hashfleet-embedded-1 img/s", "hashfleet-embedded-2",
        "hashfleet-embedded-1")
    add("original-p2 img/s / original-p1 img/s", "original-p2", "original-p1")
    add("hashfleet-warm-1 img/s / hashfleet-embedded-1 img/s", "hashfleet-warm-1", "hashfleet-embedded-1")
    add("hashfleet-warm-1 img/s / imagehash img/s", "hashfleet-warm-1", "imagehash")
    return out


def set_markdown(name: str, desc: dict, rows: dict[str, Row], quality: dict[str, Quality],
                 repeats: int) -> str:
    floor = rows.get("floor")
    lines = [f"### {name}", "",
             f"{desc['files']} files ({desc['distinct_contents']} distinct contents), {desc['total_mb']:.0f} MB, "
             f"{desc['mp_min']:.2f} / {desc['mp_median']:.2f} / {desc['mp_max']:.2f} MP (min / median / max); "
             f"formats {desc['formats']}; the original script lists {desc['original_accepts']} of them.", "",
             f"Median of {repeats} round-robin repeat(s).", "",
             "| contender | files given | hashed | median s | min-max s | img/s | s/img vs floor |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows.values():
        versus = f"{row.per_image / floor.per_image:.2f}x" if floor else "-"
        lines.append(f"| {row.name} | {row.given} | {row.hashed} | {row.median:.2f} | {row.low:.2f}-{row.high:.2f}"
                     f" | {row.rate:.1f} | {versus} |")
    lines += ["", "| ratio | value | issue target |", "|---|---:|---|"]
    lines += [f"| {label} | {value:.2f} | {target} |" for label, value, target in ratios(rows)]
    if quality:
        lines += ["", f"Hash quality vs full-resolution `dhash` reference (target: <= {MAX_DIFF_SHARE:.0%} of "
                  f"files differ, by <= {MAX_DIFF_BITS} bit):", "",
                  "| output | compared | differing | share | max bits | bits histogram | missing |",
                  "|---|---:|---:|---:|---:|---|---:|"]
        for label, q in quality.items():
            lines.append(f"| {label} | {q.compared} | {q.differing} | {q.share:.2%} | {q.max_bits} | "
                         f"{q.histogram} | {q.missing} |")
    return "\n".join(lines) + "\n"


def targets_markdown(all_rows: dict[str, dict[str, Row]], quality: dict[str, dict[str, Quality]]) -> str:
    """One line per issue target and set: measured value and whether it is met."""
    lines = ["| set | target | measured | met |", "|---|---|---:|---|"]
    for name, rows in all_rows.items():
        if "hashfleet-warm-1" in rows and "floor" in rows:
            value = rows["hashfleet-warm-1"].per_image / rows["floor"].per_image
            lines.append(f"| {name} | warm-1 <= {TARGET_WARM1_OVER_FLOOR}x decode floor | {value:.2f}x | "
                         f"{'yes' if value <= TARGET_WARM1_OVER_FLOOR else 'no'} |")
        if name == "camera" and "hashfleet-warm-1" in rows and "original-p1" in rows:
            value = rows["hashfleet-warm-1"].rate / rows["original-p1"].rate
            lines.append(f"| {name} | warm-1 ~{TARGET_WARM1_VS_ORIGINAL1_CAMERA}x original --procs 1 | "
                         f"{value:.2f}x | {'yes' if value >= TARGET_WARM1_VS_ORIGINAL1_CAMERA else 'no'} |")
        if name == "camera" and "hashfleet-warm-2" in rows and "hashfleet-warm-1" in rows:
            value = rows["hashfleet-warm-2"].rate / rows["hashfleet-warm-1"].rate
            lines.append(f"| {name} | warm-2 >= {TARGET_TWO_OVER_ONE_CAMERA}x warm-1 | {value:.2f}x | "
                         f"{'yes' if value >= TARGET_TWO_OVER_ONE_CAMERA else 'no'} |")
        q = quality.get(name, {}).get("hashfleet-warm-1")
        if q:
            lines.append(f"| {name} | hash diff <= {MAX_DIFF_SHARE:.0%} of files, <= {MAX_DIFF_BITS} bit | "
                         f"{q.differing}/{q.compared} files, max {q.max_bits} bit | "
                         f"{'yes' if q.meets_target else 'no'} |")
    return "\n".join(lines) + "\n"
