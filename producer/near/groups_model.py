"""Duplicate groups as the report and the grouping share them: two small frozen dataclasses, no logic.

The grouping (`hashfleet dupes`) builds them; producer/near/report.py renders them. Kept apart from both so
neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Footage:
    """What a video member shows of the group's shared footage: seconds [start, end) of its `duration`, the
    same footage's seconds [ref_start, ref_end) in the group's first member (None for that member), and how
    many times faster it plays it than the first member (1.0 when unchanged)."""

    duration: float
    start: float
    end: float
    ref_start: float | None = None
    ref_end: float | None = None
    speed: float = 1.0


@dataclass(frozen=True)
class Member:
    """One file of a group, with what a person needs to choose which copy to keep."""

    path: str  # as walked; may hold surrogateescape characters for non-UTF-8 names
    size: int | None  # bytes, None when unknown
    width: int | None  # pixels, as decoded (EXIF orientation applied)
    height: int | None
    mtime: int | None  # seconds since the epoch
    distance: int  # Hamming distance of its hash to the group's first member's (0 for that member)
    keep: bool  # the copy the grouping suggests keeping; the others are candidates to remove
    footage: Footage | None = None  # a video's shared footage (None for an image)


@dataclass(frozen=True)
class Group:
    """Files that are the same picture: `members[0]` is the representative (every distance is to it); the
    member with `keep` set is the suggested keep."""

    kind: str  # "exact": every member has the representative's hash; "near": within the threshold K of it;
    # "video": videos sharing aligned footage (producer/near/videopairs.py)
    members: tuple[Member, ...]

    @property
    def total_bytes(self) -> int:
        """Sum of the members' known sizes."""
        return sum(m.size or 0 for m in self.members)
