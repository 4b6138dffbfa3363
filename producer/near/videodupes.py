"""`dupes` over the videos of an index: groups of videos that are the same footage, which copy to keep, and the
rows the pairs CSV, groups JSON and keep plan carry for them (producer/near/output.py writes them beside the
images'). Videos pair only with videos (producer/near/videopairs.py).

Which copy to keep (`--keep largest`, the default): the longest (whole seconds), then one without black bars
(a letterboxed copy shows the picture smaller), then the most pixels, then the least compressed (most bytes per
pixel-second); `biggest-file`, `oldest` and `newest` as for images. Bars come from the index (the workers
count the sampled frames with black bars: tasks/video/letterbox.video_letterboxed); sizes and times are
the files' own, from a stat of the videos of groups only (no video is opened here).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from producer.near.find import NearGroup, groups_around_representatives
from producer.near.videopairs import VideoPair, duration_of
from tasks.video.frames import IndexedVideo

#: Extra columns of a video pair in the pairs CSV (empty for an image pair): the shared footage in seconds,
#: and how many times faster b plays it than a.
PAIR_FIELDS = ("a_start", "a_end", "b_start", "b_end", "speed")


@dataclasses.dataclass(frozen=True)
class VideoFile:
    """What choosing a keeper needs beyond the index: bytes and mtime (None when the file is not here), and
    whether the video is letterboxed (from the index)."""

    size: int | None
    mtime: int | None
    letterboxed: bool


def pair_rows(videos: Sequence[IndexedVideo], pairs: Sequence[VideoPair]) -> list[tuple]:
    """(a, b, distance, a_start, a_end, b_start, b_end, speed) per pair, times rounded to 0.01 s."""
    return [(videos[p.a].path, videos[p.b].path, p.alignment.distance,
             *(round(x, 2) for x in (p.alignment.a_start, p.alignment.a_end, p.alignment.b_start, p.alignment.b_end)),
             p.alignment.speed) for p in pairs]


def video_groups(count: int, pairs: Sequence[VideoPair]) -> list[NearGroup]:
    """Groups of videos around representatives, as images are grouped (no chaining)."""
    a = np.array([p.a for p in pairs], np.int64)
    b = np.array([p.b for p in pairs], np.int64)
    d = np.array([p.alignment.distance for p in pairs], np.uint8)
    return groups_around_representatives(count, a, b, d)


def inspect_file(video: IndexedVideo) -> VideoFile:
    """Size and mtime of a video file (None, None when it is not here: a stat, nothing read) and the
    index's letterbox flag."""
    try:
        info = os.stat(video.path)
    except OSError:
        return VideoFile(None, None, video.letterboxed)
    return VideoFile(info.st_size, int(info.st_mtime), video.letterboxed)


def keep_key(video: IndexedVideo, file: VideoFile, policy: str) -> tuple:
    """Sort key of a member: the smallest is kept (see the module docstring)."""
    pixels = video.width * video.height
    if policy == "biggest-file":
        return (-(file.size or 0),)
    if policy in ("oldest", "newest"):
        mtime = file.mtime if file.mtime is not None else 0
        return (mtime if policy == "oldest" else -mtime,)
    duration = duration_of(video)
    rate = (file.size or 0) / max(1.0, pixels * duration)
    return (-round(duration), file.letterboxed, -pixels, -rate)


def choose_video_keeper(videos: Sequence[IndexedVideo], files: dict[int, VideoFile], members: np.ndarray,
                        policy: str) -> int:
    """The member to keep under `policy`; ties go to the earlier video of the index."""
    return min(members.tolist(), key=lambda m: (*keep_key(videos[m], files[m], policy), m))


def group_members(videos: Sequence[IndexedVideo], pairs: Sequence[VideoPair], groups: list[NearGroup],
                  policy: str) -> list[tuple[str, list[dict]]]:
    """Per group, (representative path, members as the groups JSON and plan write them: path, distance,
    keep, size, width, height, mtime, duration, and the footage shared with the representative in the
    member (`start`, `end`) and in the representative (`rep_start`, `rep_end`); the representative's own
    are its whole duration)."""
    files = {int(m): inspect_file(videos[m]) for g in groups for m in g.members}
    shared = {}
    for p in pairs:
        al = p.alignment
        shared[(p.a, p.b)] = (al.b_start, al.b_end, al.a_start, al.a_end, al.speed)
        shared[(p.b, p.a)] = (al.a_start, al.a_end, al.b_start, al.b_end, round(1 / al.speed, 2))
    out = []
    for group in groups:
        keeper = choose_video_keeper(videos, files, group.members, policy)
        rep = group.representative
        members = []
        for m, dist in zip(group.members.tolist(), group.distances.tolist(), strict=True):
            v, f = videos[m], files[m]
            whole = (0.0, duration_of(v), 0.0, duration_of(v), 1.0)
            start, end, rep_start, rep_end, speed = whole if m == rep else shared[(rep, m)]
            members.append({"path": v.path, "distance": int(dist), "keep": m == keeper, "size": f.size,
                            "width": v.width, "height": v.height, "mtime": f.mtime,
                            "duration": round(duration_of(v), 2), "start": round(start, 2), "end": round(end, 2),
                            "rep_start": round(rep_start, 2), "rep_end": round(rep_end, 2), "speed": speed,
                            "letterboxed": f.letterboxed})
        out.append((videos[rep].path, members))
    return out


def report_groups(video_groups: list[tuple[str, list[dict]]]) -> list:
    """The groups of :func:`group_members` as the HTML report takes them (producer/near/groups_model.py):
    each member's footage is what it shares with the representative; the representative's, the span it
    shares with any member."""
    from producer.near.groups_model import Footage, Group, Member

    out = []
    for _, members in video_groups:
        others = members[1:]
        rep_start = min((m["rep_start"] for m in others), default=0.0)
        rep_end = max((m["rep_end"] for m in others), default=members[0]["duration"])
        footage = [Footage(members[0]["duration"], rep_start, rep_end)]
        footage += [Footage(m["duration"], m["start"], m["end"], m["rep_start"], m["rep_end"], m["speed"])
                    for m in others]
        out.append(Group("video", tuple(
            Member(m["path"], m["size"], m["width"], m["height"], m["mtime"], m["distance"], m["keep"], f)
            for m, f in zip(members, footage, strict=True))))
    return out
