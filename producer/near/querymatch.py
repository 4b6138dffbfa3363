"""What `search` lists for one query file: an image query's matching images and the videos showing it (with
when), a video query's videos holding its footage (with where, in both). Rows ready for the matches CSV."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from producer.near.find import query_distances
from producer.near.hashindex import HashIndex
from producer.near.queryphases import QueryVideo
from producer.near.videosearch import clip_in_videos, image_in_videos
from tasks.video.frames import IndexedVideo

#: Columns of `search -o`: start/end are seconds in the matched video (empty for an image), query_start/
#: query_end seconds in a video query.
MATCH_FIELDS = ("query", "path", "distance", "start", "end", "query_start", "query_end")


@dataclasses.dataclass(frozen=True)
class Match:
    """One match of a query: the index's file, its distance and where (None when not a video)."""

    path: str
    distance: int
    start: float | None = None
    end: float | None = None
    query_start: float | None = None
    query_end: float | None = None

    def row(self, query: str) -> tuple:
        def cell(x):
            return "" if x is None else round(x, 2)

        return (query, self.path, self.distance, *(cell(x) for x in (self.start, self.end, self.query_start,
                                                                      self.query_end)))


def is_video_query(path: str) -> bool:
    """True for a file (or an `s3://` object) to search as a video: not named as an image, and starting like a
    video container; ConfigError when it cannot be read."""
    from producer.walk import IMAGE_EXTENSIONS, UNDECODABLE_PHOTO_EXTENSIONS
    from tasks.errors import ConfigError, FileUnreadable
    from tasks.video.segment import starts_like_video
    from tasks.video.source import checked_source

    if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS | UNDECODABLE_PHOTO_EXTENSIONS:
        return False
    try:
        return starts_like_video(checked_source(path).head())
    except FileUnreadable as exc:
        raise ConfigError(f"cannot read {path}: {exc.code.description}") from None


def image_matches(data: HashIndex, videos: Sequence[IndexedVideo], hashes: dict, max_distance: int, crops: bool,
                  limit: int, regions: bool = True) -> tuple[list[Match], int]:
    """(the `limit` nearest matches of an image query: images and videos showing it by distance, images
    first at one distance, then in index order; how many files and videos are within the distance)."""
    distance = query_distances(data, hashes, max_distance, crops=crops, regions=regions)
    near = np.flatnonzero(distance <= max_distance)
    order = near[np.lexsort((near, distance[near]))][:limit].tolist()
    images = [Match(path, int(distance[i])) for i, path in zip(order, data.paths_of(order), strict=True)]
    shown = [Match(videos[m.video].path, m.distance, m.start, m.end)
             for m in image_in_videos(videos, hashes, max_distance, crops=crops)]
    return sorted(images + shown, key=lambda m: m.distance)[:limit], len(near) + len(shown)


def video_matches(videos: Sequence[IndexedVideo], query: QueryVideo, frame_distance: int,
                  crops: bool) -> list[Match]:
    """The videos holding the query video's footage (each grid through its head tried:
    producer/near/queryphases.py), nearest first."""
    from producer.near.videopairs import duration_of

    found = clip_in_videos(videos, query.video.frames, duration_of(query.video), frame_distance, crops=crops,
                           phases=query.phases, step=query.step)
    return [Match(videos[m.video].path, m.distance, m.start, m.end, m.query_start, m.query_end) for m in found]
