"""Duplicate groups as the report and the grouping share them: two small frozen dataclasses, no logic.

The grouping (`hashfleet dupes`) builds them; producer/near/report.py renders them. Kept apart from both so
neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class Group:
    """Files that are the same picture: `members[0]` is the representative (every distance is to it); the
    member with `keep` set is the suggested keep."""

    kind: str  # "exact": every member has the representative's hash; "near": within the threshold K of it
    members: tuple[Member, ...]

    @property
    def total_bytes(self) -> int:
        """Sum of the members' known sizes."""
        return sum(m.size or 0 for m in self.members)
