"""Video matching on real files encoded by PyAV in the test: sampled and hashed as the workers do
(tasks/video), paired and searched by producer/near."""

from __future__ import annotations

import cv2
import pytest

from producer.near.videopairs import video_pairs
from producer.near.videosearch import clip_in_videos, image_in_videos
from support.footage import picture, write_footage
from tasks.video.frames import IndexedVideo, hash_frames
from tasks.video.probe import probe
from tasks.video.sample import sample_gray


def indexed(path: str) -> IndexedVideo:
    info = probe(path)
    return IndexedVideo(path, info.duration, info.width, info.height, info.fps, hash_frames(sample_gray(path, 1.0)))


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    folder = tmp_path_factory.mktemp("films")
    return {
        "original": indexed(write_footage(folder / "original.mp4", 30, 10)),
        # seconds 8.5 to 20.5 of the original, at half size and 8 frames a second
        "clip": indexed(write_footage(folder / "clip.mp4", 12, 8, (160, 90), offset=8.5)),
        "other": indexed(write_footage(folder / "other.mp4", 30, 10, seed=1)),
    }


def test_a_smaller_clip_at_another_frame_rate_pairs_with_its_source_at_the_right_seconds(films):
    pairs = video_pairs([films["original"], films["clip"], films["other"]])
    assert [(p.a, p.b) for p in pairs] == [(0, 1)]
    al = pairs[0].alignment
    assert al.a_start == pytest.approx(8.5, abs=1.0) and al.a_end == pytest.approx(20.5, abs=1.0)
    assert al.b_start == pytest.approx(0.0, abs=1.0) and al.b_end == pytest.approx(12.0, abs=1.0)


def test_a_still_of_the_video_is_found_at_the_second_it_is_shown(films, tmp_path):
    from producer.near.output import hash_query

    still = tmp_path / "still.png"
    cv2.imwrite(str(still), cv2.cvtColor(picture(17), cv2.COLOR_RGB2BGR))
    matches = image_in_videos([films["original"], films["other"]], hash_query(str(still), ("phash", "phash-centre")), 8)
    assert [m.video for m in matches] == [0]
    assert matches[0].start <= 17 < matches[0].end


def test_a_clip_query_finds_where_it_sits_in_its_source(films):
    clip = films["clip"]
    matches = clip_in_videos([films["other"], films["original"]], clip.frames, clip.duration, 10)
    assert [m.video for m in matches] == [1]
    assert matches[0].start == pytest.approx(8.5, abs=1.0) and matches[0].query_end == pytest.approx(12, abs=1.0)


def test_a_copy_with_a_logo_box_in_its_corner_pairs_with_its_original_over_its_whole_length(films, tmp_path):
    # Given a copy of the original with an opaque white box in its top-right corner, which moves most frames'
    # whole-picture hashes beyond the frame distance
    logo = indexed(write_footage(tmp_path / "logo.mp4", 30, 10, logo=True))
    # When the videos are paired, Then the copy pairs with its original (band against band), over all 30 s
    pairs = video_pairs([films["original"], films["other"], logo])
    assert [(p.a, p.b) for p in pairs] == [(0, 2)]
    al = pairs[0].alignment
    assert (al.a_start, al.b_start) == pytest.approx((0.0, 0.0), abs=1.0)
    assert (al.a_end, al.b_end) == pytest.approx((30.0, 30.0), abs=1.0)


def test_a_mirrored_copy_pairs_with_nothing_even_by_its_band(films, tmp_path):
    mirrored = indexed(write_footage(tmp_path / "mirror.mp4", 30, 10, mirror=True))
    assert video_pairs([films["original"], films["other"], mirrored]) == []


def test_a_clip_of_a_logo_copy_finds_where_it_sits_in_the_original(films, tmp_path):
    clip = indexed(write_footage(tmp_path / "logo-clip.mp4", 12, 10, offset=8.5, logo=True))
    matches = clip_in_videos([films["other"], films["original"]], clip.frames, clip.duration, 10)
    assert [m.video for m in matches] == [1]
    assert matches[0].start == pytest.approx(8.5, abs=1.0) and matches[0].end == pytest.approx(20.5, abs=1.0)
