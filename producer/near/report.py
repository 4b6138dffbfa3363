"""The HTML report of duplicate groups: one self-contained file, groups largest first, a page at a time.

The page is producer/near/templates/report.html filled in here. The groups go into it as one JSON blob that a
small inline script renders page by page, so 10,000 groups open as fast as ten; thumbnails are inlined as
`data:` URIs for the first groups only, which keeps the file a size a browser opens without effort.
Nothing is fetched from anywhere: the page works offline, opened from disk.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterable
from importlib import resources

from producer.near.groups_model import Group, Member
from producer.near.thumbnails import make_thumbnails
from producer.outputs.atomic import atomic_path
from tasks.errors import FileError

#: Groups whose members get a thumbnail (the largest groups, since the page lists those first). A thumbnail
#: is ~4 kB of base64 (producer/near/thumbnails.py), so 500 groups of two or three files add 4-6 MB: a page a
#: browser opens instantly, while thumbnails for every group of a large report would weigh hundreds of MB.
DEFAULT_THUMBNAIL_GROUPS = 500
#: Thumbnails in one report at most, whatever the group sizes (a few groups of hundreds of near-identical
#: files, such as blank scans, would otherwise make the file huge): ~6 MB.
MAX_THUMBNAILS = 1500
#: Groups per page of the report: enough to scroll through, few enough to render at once.
PAGE_SIZE = 20
#: Byte units for sizes shown to people (powers of 1024, as `ls -h` and file managers count).
UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")
#: The template, inside the producer package (pyproject.toml's package-data ships it).
TEMPLATE = "templates/report.html"
#: Placeholders in the template, filled in one pass (so text that looks like one is never re-expanded).
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
#: What a placeholder says for a file without a thumbnail, by its FileError slug.
_REASONS = {code.reason: code.description for code in FileError}
#: What the page says about the files it lists: hashfleet only reports.
NEVER_DELETES = ("hashfleet never deletes, moves or changes any file: \u201ccandidate to remove\u201d is a "
                 "suggestion, and what to do with each copy is your decision.")


def write_report(groups: list[Group], out_path: str, *, title: str, summary: dict[str, str | int],
                 thumbnails: int = DEFAULT_THUMBNAIL_GROUPS) -> int:
    """Write the HTML report of `groups` to `out_path` and return the number of groups written.

    Groups are listed largest first (members, then total bytes). `summary` is shown as a header of
    label: value pairs (files, groups, pairs, the hash and threshold used...). The members of the first
    `thumbnails` groups get a thumbnail, at most :data:`MAX_THUMBNAILS` in all; a file that cannot be
    read or decoded gets a placeholder saying why. The file is replaced atomically.
    """
    ordered = sorted(groups, key=_largest_first)
    # Keyed by place, not by path: a path listed twice must not get a second picture past the cap.
    slots = [(g, m) for g in range(min(max(0, thumbnails), len(ordered))) for m in range(len(ordered[g].members))]
    slots = slots[:MAX_THUMBNAILS]
    images = [(g, m) for g, m in slots if ordered[g].members[m].footage is None]
    made = make_thumbnails([ordered[g].members[m].path for g, m in images])
    pictures = dict(zip(images, made, strict=True))
    pictures.update(video_strips(ordered, [(g, m) for g, m in slots if ordered[g].members[m].footage is not None]))
    data = {"pageSize": PAGE_SIZE, "groups": [_group_data(g, i, pictures) for i, g in enumerate(ordered)]}
    fields = {
        "title": _text(title),
        "summary": "".join(f"<div><dt>{_text(label)}</dt><dd>{_text(f'{value:,}' if isinstance(value, int) else value)}"
                           "</dd></div>" for label, value in summary.items()),
        "notes": "".join(f"<li>{html.escape(note)}</li>" for note in _notes(ordered, len(slots))),
        "data": script_json(data),
    }
    page = _PLACEHOLDER.sub(lambda match: fields[match.group(1)], _template())
    with atomic_path(out_path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        out.write(page)
    return len(ordered)


def script_json(value) -> str:
    """`value` as JSON that is safe inside a `<script>` element: `<`, `>` and `&` as \\u escapes, so a
    file named `</script>...` cannot end the element, and ASCII only (also escapes U+2028/U+2029)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def human_size(size: int | None) -> str:
    """`size` bytes for people: '812 bytes', '44.7 KiB', '3.2 GiB'; 'size unknown' for None."""
    if size is None:
        return "size unknown"
    value, unit = float(size), UNITS[0]
    for unit in UNITS:
        if value < 1024 or unit == UNITS[-1]:
            break
        value /= 1024
    return f"{size} bytes" if unit == UNITS[0] else f"{value:.1f} {unit}"


def clock(seconds: float) -> str:
    """Seconds as a video player shows them, to a tenth: '0:08.5', '12:03.0', '1:02:03.0'."""
    tenths = round(seconds * 10)
    hours, rest = divmod(tenths, 36000)
    minutes, rest = divmod(rest, 600)
    text = f"{minutes}:{rest // 10:02d}.{rest % 10}"
    return f"{hours}:{minutes:02d}:{rest // 10:02d}.{rest % 10}" if hours else text


def video_strips(ordered: list[Group], slots: list[tuple[int, int]]) -> dict:
    """Per (group, member) slot of a video, its strip: [(time, Thumbnail)] over its shared footage."""
    from producer.near.videothumbs import strip_times, video_strip

    out = {}
    for g, m in slots:
        member = ordered[g].members[m]
        times = strip_times(member.footage.start, member.footage.end)
        out[(g, m)] = list(zip(times, video_strip(member.path, times), strict=True))
    return out


def _largest_first(group: Group) -> tuple:
    # The first path breaks ties so the same groups always give the same page.
    return -len(group.members), -group.total_bytes, group.members[0].path if group.members else ""


def _group_data(group: Group, index: int, pictures: dict) -> dict:
    removable = sum(m.size or 0 for m in group.members if not m.keep)
    return {"kind": group.kind, "total": human_size(group.total_bytes), "reclaim": human_size(removable),
            "members": [_member_data(m, pictures.get((index, i))) for i, m in enumerate(group.members)]}


def _member_data(member: Member, picture) -> dict:
    item = {"path": _displayed(member.path), "size": human_size(member.size), "dist": member.distance,
            "dims": f"{member.width} \u00d7 {member.height}" if member.width and member.height else "size unknown",
            "keep": member.keep}
    if member.mtime is not None:
        item["mtime"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(member.mtime))
    if member.footage is not None:
        f = member.footage
        item["span"] = f"{clock(f.start)}\u2013{clock(f.end)} of {clock(f.duration)}"
        if f.ref_start is not None:
            item["ref"] = f"at {clock(f.ref_start)}\u2013{clock(f.ref_end)} of the first"
        if f.speed != 1.0:
            item["speed"] = f"plays {f.speed:g}\u00d7 as fast as the first"
        if picture is not None:
            item["strip"] = [{"t": clock(t), **_picture(p)} for t, p in picture]
    elif picture is not None:
        item.update(_picture(picture))
    return item


def _picture(picture) -> dict:
    return {"img": picture.uri} if picture.uri else {"err": _REASONS.get(picture.error, picture.error)}


def _notes(ordered: list[Group], pictured: int) -> Iterable[str]:
    yield NEVER_DELETES
    members = sum(len(g.members) for g in ordered)
    if not pictured and members:
        yield "This report has no pictures (thumbnails were turned off)."
    elif pictured < members:
        yield (f"Pictures are shown for the first {pictured:,} of {members:,} files (the largest groups) to keep "
               "this file small; the others are listed without one.")


def _text(text: str) -> str:
    """`text` escaped for HTML."""
    return html.escape(_displayed(str(text)))


def _displayed(text: str) -> str:
    """`text` as valid Unicode for the page: bytes of a non-UTF-8 file name (surrogateescape) shown as \\xNN."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # surrogates that are not escaped bytes (not from os.fsdecode)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _template() -> str:
    return resources.files("producer.near").joinpath(TEMPLATE).read_text(encoding="utf-8")
