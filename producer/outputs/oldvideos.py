"""The videos of a previous index that an incremental run may reuse (producer/outputs/incremental.py): those
sampled to their end (no error) at this run's `--video-fps`, looked up by path, their frames read when asked.

The index must say the rate its videos were sampled at (`sample_fps`, producer/outputs/videowrite.py): one
written before it was kept offers no video, since its frames may lie on another grid of times. The lookup
holds each reusable video's path and number in memory (about 200 bytes a video with a 40-character path,
measured: a million videos take about 200 MB); frames stay on disk, read through the `frames` table's
(video, time) index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from producer.outputs.reader import stored_path
from producer.outputs.videoframes import band_column, sqlite_frames, table_columns
from tasks.video.frames import IndexedVideo


def reusable(videos: Iterable[IndexedVideo], fps: float) -> Iterator[IndexedVideo]:
    """The `videos` an incremental run sampling at `fps` may reuse: no error, sampled at that rate."""
    return (v for v in videos if not v.error and v.sample_fps == fps)


class OldVideos:
    """path -> the frames of each video of an open SQLite index (a connection the caller closes) that a run
    sampling at `fps` may reuse."""

    def __init__(self, db: sqlite3.Connection, fps: float):
        self.db = db
        self._found: dict[str, tuple[int, int]] = {}  # path -> (videos.id, frames)
        self.band = band_column(db)
        if "sample_fps" not in table_columns(db, "videos"):
            return
        rows = db.execute("SELECT id, path, frames FROM videos WHERE error = '' AND sample_fps = ?", (fps,))
        self._found = {stored_path(path): (vid, frames) for vid, path, frames in rows}

    def __len__(self) -> int:
        return len(self._found)

    def frame_count(self, path: str) -> int | None:
        """How many frames the index holds of the video at `path`, or None when it has no reusable one."""
        found = self._found.get(path)
        return None if found is None else found[1]

    def video(self, path: str) -> IndexedVideo:
        """The video at `path` as the index holds it (KeyError when :meth:`frame_count` said None)."""
        vid, _ = self._found[path]
        duration, width, height, fps, letterboxed, sample_fps = self.db.execute(
            "SELECT duration, width, height, fps, letterboxed, sample_fps FROM videos WHERE id = ?", (vid,)).fetchone()
        return IndexedVideo(path, float(duration or 0), int(width or 0), int(height or 0), float(fps or 0),
                            sqlite_frames(self.db, vid, self.band), "", bool(letterboxed), float(sample_fps))
