"""Runs of near-identical consecutive frames (producer/near/videoruns.py): collapsed before the frame join of
`dupes`, expanded back to frames after it, so video pairs and their times stay those of every frame joined."""

from __future__ import annotations

import numpy as np

from producer.near.videopairs import video_pairs
from producer.near.videoruns import expand, frame_distances, frame_runs
from tasks.nearjoin.join import join
from tests.unit.test_video_pairs import footage, noisy, video

RNG = np.random.default_rng(61)


def runs_of(hashes, owner=None, low=None, radius=2):
    hashes = np.asarray(hashes, np.uint64)
    owner = np.zeros(len(hashes), np.int64) if owner is None else np.asarray(owner)
    low = np.zeros(len(hashes), bool) if low is None else np.asarray(low)
    runs = frame_runs(hashes, hashes, low, owner, radius)
    return list(zip(runs.first.tolist(), runs.last.tolist(), strict=True))


def stills(shots: int, seconds: int, rng: np.random.Generator) -> np.ndarray:
    """`shots` still shots of `seconds` each, one frame a second, each frame 0-1 bit off its shot's picture."""
    frames = np.repeat(footage(shots, rng), seconds)
    flip = rng.random(len(frames)) < 0.5
    frames[flip] ^= np.uint64(1) << rng.integers(0, 64, int(flip.sum())).astype(np.uint64)
    return frames


def test_a_still_shot_is_one_run_and_footage_that_changes_every_second_is_one_run_a_frame():
    still = [0b1011] * 4 + [0b1010, 0b1011]
    moving = footage(3, RNG).tolist()
    assert runs_of(still + moving) == [(0, 5), (6, 6), (7, 7), (8, 8)]


def test_a_run_holds_only_frames_within_the_radius_of_its_first_frame():
    drifting = [0, 0b1, 0b11, 0b111, 0b1111, 0b11111]  # one bit further from the first frame each second
    assert runs_of(drifting) == [(0, 2), (3, 5)]


def test_runs_never_cross_from_one_video_into_the_next():
    assert runs_of([7, 7, 7, 7], owner=[0, 0, 1, 1]) == [(0, 1), (2, 3)]


def test_a_low_information_frame_never_shares_a_run_with_frames_that_take_part():
    assert runs_of([7, 7, 7, 7], low=[False, False, True, True]) == [(0, 1), (2, 3)]


def test_a_radius_below_zero_leaves_every_frame_its_own_run():
    assert runs_of([7, 7, 7], radius=-1) == [(0, 0), (1, 1), (2, 2)]


def test_a_pair_of_runs_expands_to_every_pair_of_their_frames():
    runs = frame_runs(np.array([1, 1, 1, 8, 8], np.uint64), np.array([1, 1, 1, 8, 8], np.uint64),
                      np.zeros(5, bool), np.array([0, 0, 0, 1, 1]), 0)
    i, j = expand(np.array([0]), np.array([1]), runs)
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 3), (0, 4), (1, 3), (1, 4), (2, 3), (2, 4)]


def test_frame_distances_take_the_least_of_whole_and_centre_hashes_with_crops():
    phash, centre = np.array([0, 0b111], np.uint64), np.array([0b1, 0b110], np.uint64)
    i, j = np.array([0]), np.array([1])
    assert frame_distances(i, j, phash, centre, crops=False).tolist() == [3]
    assert frame_distances(i, j, phash, centre, crops=True).tolist() == [2]


def test_a_clip_of_still_shots_pairs_at_the_same_times_with_fewer_frames_joined():
    # Given a film of 12 still shots of 10 s and a re-encoded clip of its seconds 35-85
    rng = np.random.default_rng(7)
    film = stills(12, 10, rng)
    videos = [video("film.mp4", film), video("clip.mp4", noisy(film[35:85], bits=1, rng=rng))]
    joined = []

    def recording_join(hashes, k, groups=None):
        joined.append(len(hashes))
        return join(hashes, k, groups=groups)

    # When dupes pairs them with runs collapsed, and with every frame joined alone
    collapsed = video_pairs(videos, joiner=recording_join)
    alone = video_pairs(videos, radius=-1)
    # Then the pair and its times are the same, and the join took fewer rows than half the 170 frames'
    # phash and centre hashes
    assert [(p.a, p.b) for p in collapsed] == [(0, 1)]
    al = collapsed[0].alignment
    assert (al.a_start, al.a_end, al.b_start, al.b_end) == (35, 85, 0, 50)
    assert collapsed == alone
    assert joined[0] < 170  # 2 hashes a row
