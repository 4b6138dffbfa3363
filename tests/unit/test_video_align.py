"""Aligning two videos' matching frames (producer/near/videoalign.py): pure numpy on frame times."""

from __future__ import annotations

import numpy as np
import pytest

from producer.near.videoalign import align, slopes
from producer.near.videochain import longest_chain


def matches(a_times, b_times):
    a, b = np.asarray(a_times, float), np.asarray(b_times, float)
    return a, b, np.zeros(len(a))


def test_a_copy_trimmed_by_ten_seconds_aligns_at_that_offset():
    a, b, d = matches(np.arange(10, 40), np.arange(0, 30))
    found = align(a, b, d, a_step=1, b_step=1, a_duration=60, b_duration=30)
    assert (found.a_start, found.a_end, found.b_start, found.b_end) == (10, 40, 0, 30)
    assert found.speed == 1.0 and found.frames == 30


def test_a_copy_played_a_quarter_faster_reports_its_speed():
    b = np.arange(0, 24.0)
    found = align(*matches(np.round(10 + 1.25 * b), b), a_step=1, b_step=1)
    assert found.speed == pytest.approx(1.25, abs=0.02)
    assert found.a_start == 10 and found.b_end == pytest.approx(24, abs=0.2)


def test_matches_that_lie_on_no_common_timeline_align_only_a_few_frames():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 600, 80), rng.integers(0, 600, 80)
    found = align(*matches(a, b), a_step=1, b_step=1)
    assert found.frames <= 4


def test_a_still_shot_matching_a_still_shot_counts_each_frame_once():
    # Seconds 0-9 of A are one still, matching seconds 0-9 of B in every combination: ten frames, not 100.
    a, b = np.meshgrid(np.arange(10.0), np.arange(10.0))
    found = align(*matches(a.ravel(), b.ravel()), a_step=1, b_step=1)
    assert found.frames == 10 and found.speed == 1.0


def test_footage_shared_at_both_ends_with_a_long_gap_between_stays_the_longer_piece():
    a = np.r_[np.arange(0, 4), np.arange(50, 58)]
    found = align(*matches(a, a), a_step=1, b_step=1)
    assert (found.a_start, found.a_end) == (50, 58)


def test_the_chain_strictly_increases_in_both_times():
    ta = np.array([0, 1, 1, 2, 3, 3, 4.0])
    tb = np.array([0, 1, 2, 2, 3, 1, 5.0])
    chain = longest_chain(ta, tb)
    assert np.all(np.diff(ta[chain]) > 0) and np.all(np.diff(tb[chain]) > 0)
    assert len(chain) == 5


def test_a_few_frames_more_on_a_tilted_line_do_not_make_a_speed_change():
    # Twelve frames on the unchanged line, and by chance thirteen on a line 3 % steeper
    a = np.r_[np.arange(12.0), np.arange(12.0)]
    b = np.r_[np.arange(12.0), np.round(np.arange(12.0) * 1.03 + 0.4, 1)]
    found = align(*matches(np.r_[a, 12.0], np.r_[b, 12.8]), a_step=1, b_step=1)
    assert found.speed == 1.0


def test_a_frame_matching_past_a_trim_point_does_not_extend_the_shared_footage():
    # B is A's first 19.5 s; A's still frame at 20 s matches B's last frame at 19 s too
    a, b = np.r_[np.arange(20.0), 20.0], np.r_[np.arange(20.0), 19.0]
    found = align(*matches(a, b), a_step=1, b_step=1, b_duration=19.5)
    assert found.a_end == 19.5 and found.b_end == 19.5


def test_no_matching_frame_aligns_nothing():
    assert align(*matches([], []), a_step=1, b_step=1) is None


def test_the_slope_grid_is_symmetric_and_tries_one_first():
    grid = slopes()
    assert grid[0] == 1.0
    assert grid.min() == pytest.approx(1 / grid.max())


def test_an_excerpt_of_slow_footage_is_placed_by_where_its_picture_changes():
    # Given a 6 s excerpt (A) of a film (B) from 17.05 s, sampled every second on both sides, of a slow zoom:
    # a frame matches every frame of the same picture, those a second off nearly as well (a bit further
    # per second, and a bit of noise), and the picture changes at 20.5 s of the film
    film = np.arange(12.0, 27.0)
    excerpt = np.arange(6.0)
    ta, tb = (t.ravel() for t in np.meshgrid(excerpt, film, indexing="ij"))
    same = (ta + 17.05 >= 20.5) == (tb >= 20.5)
    ta, tb = ta[same], tb[same]
    d = np.abs(tb - ta - 17.05).round() + np.random.default_rng(3).integers(0, 2, len(ta))
    # When they are aligned, Then the excerpt sits within half a second of 17.05 s, as the change says
    found = align(ta, tb, d, a_step=1, b_step=1, a_duration=6, b_duration=27)
    assert found.b_start == pytest.approx(17.05, abs=0.5) and found.b_end == pytest.approx(23.05, abs=0.5)


def test_a_clip_of_a_still_shot_aligns_at_the_offset_where_its_frames_match_closest():
    # Given a 30 s still shot (A) and an 8 s clip of it from 11 s (B): every frame of the clip matches every
    # frame of the shot, as many frames at every offset, but its own frames at 0 bits, the others at 2
    ta, tb = (t.ravel() for t in np.meshgrid(np.arange(30.0), np.arange(8.0), indexing="ij"))
    d = np.where(ta - tb == 11, 0, 2)
    # When they are aligned, Then the clip sits at 11 s, not at the first (or any other) offset it matches
    found = align(ta, tb, d, a_step=1, b_step=1, a_duration=30, b_duration=8)
    assert (found.a_start, found.a_end, found.b_start, found.b_end) == (11, 19, 0, 8)


def test_a_clip_of_a_street_scene_aligns_where_its_frames_match_closest_among_offsets_with_as_many_matches():
    # Given an 8 s clip (B) from 29 s of a 60 s fixed-camera scene (A): people walk, so at many offsets a few
    # frames match by chance, and at 39 s as many as at 29 s, but each at 8-9 bits instead of 2-4
    rng = np.random.default_rng(5)
    pairs = [(a, b, int(rng.integers(7, 10))) for a in range(60) for b in range(8) if rng.random() < 0.3]
    pairs = [p for p in pairs if p[0] - p[1] not in (29, 39)]
    pairs += [(29 + b, b, int(rng.integers(2, 5))) for b in range(8)]
    pairs += [(39 + b, b, int(rng.integers(8, 10))) for b in range(8)]
    ta, tb, d = (np.array(x, float) for x in zip(*pairs, strict=True))
    found = align(ta, tb, d, a_step=1, b_step=1, a_duration=60, b_duration=8)
    assert (found.a_start, found.a_end) == (29, 37)


def test_of_the_longest_chains_the_one_of_least_cost_is_taken():
    # Two chains of three points: (0,0) (1,1) (2,2) costing 0 each, and (0,1) (1,2) (2,3) costing 1 each
    ta = np.array([0, 0, 1, 1, 2, 2.0])
    tb = np.array([1, 0, 2, 1, 3, 2.0])
    cost = np.array([1, 0, 1, 0, 1, 0])
    assert longest_chain(ta, tb, cost).tolist() == [1, 3, 5]
    assert len(longest_chain(ta, tb, cost[::-1])) == 3


def test_a_first_frame_matching_two_frames_of_slow_footage_as_closely_starts_at_the_one_on_the_line():
    # A 6 s excerpt (half size, CRF 32) of a slideshow's slow zoom from 14.3 s: its first frame lies 4 bits from
    # the film's frames at 12 to 15 s alike, its second matches nothing (a cross-fade), the other four match
    # the film's at offset 14 closest (the pairs the frame join gives, bench/video_quality.py's excerpt01)
    pairs = [(0, 11, 6), (0, 12, 4), (0, 13, 4), (0, 14, 4), (0, 15, 4)] + [
        (a, b, d) for a, row in ((2, (0, 2, 2, 2, 0)), (3, (4, 2, 2, 4, 4)), (4, (2, 4, 0, 2, 4)), (5, (0, 2, 2, 0, 2)))
        for b, d in zip(range(16, 21), row, strict=True)]
    ta, tb, distance = (np.array(column, float) for column in zip(*pairs, strict=True))
    found = align(ta, tb, distance, a_step=1.0, b_step=1.0, a_duration=5.96, b_duration=26.0)
    assert (found.a_start, found.b_start) == (0.0, 14.0)
    assert (found.a_end, found.b_end) == pytest.approx((5.96, 19.96))
