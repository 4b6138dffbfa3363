"""Video pairs of `dupes` (producer/near/videopairs.py) on synthetic frame hashes: one exact join over every
frame, alignment per pair of videos, the share and seconds rule."""

from __future__ import annotations

import numpy as np

from producer.near.videoalign import Alignment
from producer.near.videopairs import is_match, video_pairs
from tasks.nearjoin.join import join
from tasks.video.frames import IndexedVideo, VideoFrames

RNG = np.random.default_rng(16)


def footage(seconds: int, rng=RNG) -> np.ndarray:
    """Random 64-bit phashes, one per second: every second a different picture."""
    return rng.integers(0, 2**64 - 1, seconds, dtype=np.uint64, endpoint=True)


def noisy(hashes: np.ndarray, bits: int = 3, rng=RNG) -> np.ndarray:
    """The hashes with `bits` random bits flipped in each (a re-encoded copy)."""
    out = hashes.copy()
    for i in range(len(out)):
        for bit in rng.choice(64, bits, replace=False):
            out[i] ^= np.uint64(1) << np.uint64(int(bit))
    return out


def video(path: str, hashes: np.ndarray, quality: int = 60, start: float = 0.0) -> IndexedVideo:
    n = len(hashes)
    frames = VideoFrames(start + np.arange(n, dtype=float), hashes, hashes, hashes, np.full(n, quality, np.uint8))
    return IndexedVideo(path, float(n), 640, 360, 25.0, frames)


def test_a_re_encoded_copy_of_a_clip_pairs_with_the_long_video_it_was_cut_from():
    long = footage(120)
    clip = noisy(long[40:70])
    pairs = video_pairs([video("long.mp4", long), video("clip.mp4", clip)])
    assert len(pairs) == 1
    al = pairs[0].alignment
    assert (al.a_start, al.a_end, al.b_start, al.b_end) == (40, 70, 0, 30)


def test_two_different_videos_sharing_a_three_second_intro_do_not_pair():
    intro = footage(3)
    first, second = np.r_[intro, footage(27)], np.r_[intro, footage(27)]
    assert video_pairs([video("first.mp4", first), video("second.mp4", second)]) == []


def test_low_information_frames_never_vote():
    same = footage(30)
    flat = [video("black1.mp4", same, quality=2), video("black2.mp4", same, quality=2)]
    assert video_pairs(flat) == []


def test_unrelated_videos_do_not_pair():
    assert video_pairs([video(f"v{i}.mp4", footage(60)) for i in range(6)]) == []


def test_pairs_come_out_for_every_pair_of_copies_in_index_order():
    original = footage(40)
    videos = [video("other.mp4", footage(40)), video("a.mp4", original), video("b.mp4", noisy(original)),
              video("c.mp4", noisy(original))]
    assert [(p.a, p.b) for p in video_pairs(videos)] == [(1, 2), (1, 3), (2, 3)]


def test_half_of_the_shorter_video_aligned_is_a_pair_and_less_is_not():
    def aligned(seconds):
        return Alignment(0.0, seconds, 0.0, seconds, 1.0, int(seconds), 2)

    assert is_match(aligned(15.0), 30.0, 100.0)
    assert not is_match(aligned(14.0), 30.0, 100.0)


def test_a_short_video_pairs_when_nearly_all_of_it_is_aligned():
    assert is_match(Alignment(0.0, 3.0, 0.0, 3.0, 1.0, 3, 0), 3.0, 60.0)
    assert not is_match(Alignment(0.0, 3.0, 0.0, 3.0, 1.0, 3, 0), 4.0, 60.0)


def test_the_frames_go_through_the_joiner_given_as_the_cluster_join_would_take_them_with_their_videos():
    original = footage(40)
    calls = []

    def recording_join(hashes, k, groups=None):
        calls.append((len(hashes), k, None if groups is None else np.bincount(groups).tolist()))
        return join(hashes, k, groups=groups)

    videos = [video("a.mp4", original), video("b.mp4", noisy(original))]
    assert [(p.a, p.b) for p in video_pairs(videos, joiner=recording_join, max_distance=9)] == [(0, 1)]
    assert calls == [(160, 9, [80, 80])]  # 80 frames' phashes and centre hashes in one join, each with its video


def black_lead(path: str, hashes: np.ndarray, seconds: int) -> IndexedVideo:
    """A video of `hashes`, one a second, after `seconds` of black (flat frames: phash 0, low quality)."""
    n = seconds + len(hashes)
    quality = np.r_[np.full(seconds, 2), np.full(len(hashes), 60)].astype(np.uint8)
    phash = np.r_[np.zeros(seconds, np.uint64), hashes].astype(np.uint64)
    return IndexedVideo(path, float(n), 640, 360, 25.0, VideoFrames(np.arange(n, dtype=float), phash, phash, phash,
                                                                     quality))


def test_the_black_lead_two_copies_open_on_is_part_of_their_shared_footage():
    original = footage(30)
    pairs = video_pairs([black_lead("film.mp4", original, 2), black_lead("copy.mp4", noisy(original), 2)])
    al = pairs[0].alignment
    assert (al.a_start, al.a_end, al.b_start, al.b_end) == (0, 32, 0, 32)


def test_a_three_second_intro_after_black_shared_by_two_different_videos_still_does_not_pair():
    # Three seconds of black and a 3 s intro: six of their eleven seconds alike (enough for a pair), but only
    # three of them show a picture
    intro = footage(3)
    first, second = np.r_[intro, footage(5)], np.r_[intro, footage(5)]
    assert video_pairs([black_lead("first.mp4", first, 3), black_lead("second.mp4", second, 3)]) == []


def test_a_video_whose_header_says_it_ends_before_its_frames_is_as_long_as_its_frames():
    # Given a 10 s clip of a long video, its container claiming 0.04 s (a bare MPEG-1 stream's header)
    import dataclasses

    long = footage(120)
    clip = dataclasses.replace(video("clip.mpeg", noisy(long[40:50])), duration=0.04)
    # When the pairs are found, Then the shared footage is the whole clip, not its first 0.04 s
    (pair,) = video_pairs([video("long.mp4", long), clip])
    al = pair.alignment
    assert (al.a_start, al.a_end, al.b_start, al.b_end) == (40, 50, 0, 10)
