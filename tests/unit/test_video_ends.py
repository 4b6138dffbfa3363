"""Shared footage extended at its ends (producer/near/videoends.py): by a close frame just past an end, and over
low-information frames; pure numpy on small synthetic frame times and hashes."""

from __future__ import annotations

import numpy as np
import pytest

from producer.near.videoalign import Alignment, align
from producer.near.videoends import extend_by_close_frames, extend_over_low_information
from producer.near.videopairs import video_pairs
from producer.near.videosearch import clip_in_videos
from tasks.video.frames import IndexedVideo, VideoFrames

RNG = np.random.default_rng(7)
BLACK = np.uint64(0)
PICTURE, LOW = 60, 2


def frames(hashes: np.ndarray, quality: np.ndarray, start: float = 0.0) -> VideoFrames:
    times = start + np.arange(len(hashes), dtype=float)
    return VideoFrames(times, hashes, hashes, hashes, quality.astype(np.uint8))


def film(picture_seconds: int, lead: int = 0, tail: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hashes and qualities: `lead` black seconds, `picture_seconds` of pictures, `tail` black seconds."""
    pictures = RNG.integers(0, 2**64 - 1, picture_seconds, dtype=np.uint64, endpoint=True)
    hashes = np.r_[np.full(lead, BLACK), pictures, np.full(tail, BLACK)].astype(np.uint64)
    quality = np.r_[np.full(lead, LOW), np.full(picture_seconds, PICTURE), np.full(tail, LOW)]
    return hashes, quality


def aligned_pictures(a: VideoFrames, b: VideoFrames, offset: int) -> Alignment:
    """The alignment of the frames with a picture, as the frame join and producer/near/videoalign.py give it:
    A's frame i with B's frame i + offset where both show the same picture."""
    i = np.flatnonzero(a.quality >= 10)
    i = i[(i + offset >= 0) & (i + offset < len(b.times))]
    i = i[(b.quality[i + offset] >= 10) & (a.phash[i] == b.phash[i + offset])]
    return align(a.times[i], b.times[i + offset], np.zeros(len(i)), a_step=1, b_step=1,
                 a_duration=len(a.times), b_duration=len(b.times))


def test_a_black_lead_both_copies_open_on_is_part_of_the_shared_footage():
    # Given a film opening on two seconds of black and a copy of it; the pictures align from 2 s
    hashes, quality = film(20, lead=2)
    a, b = frames(hashes, quality), frames(hashes.copy(), quality.copy())
    found = aligned_pictures(a, b, 0)
    assert (found.a_start, found.b_start) == (2, 2)
    # When the ends are extended over low-information frames, Then the shared footage starts at 0 in both
    out = extend_over_low_information(found, a, b, 10, a_step=1, b_step=1, a_duration=22, b_duration=22)
    assert (out.a_start, out.a_end, out.b_start, out.b_end) == (0, 22, 0, 22)


def test_a_black_fade_out_both_copies_end_on_is_part_of_the_shared_footage():
    hashes, quality = film(20, tail=3)
    a, b = frames(hashes, quality), frames(hashes.copy(), quality.copy())
    out = extend_over_low_information(aligned_pictures(a, b, 0), a, b, 10, a_step=1, b_step=1,
                                      a_duration=23, b_duration=23)
    assert (out.a_start, out.a_end, out.b_start, out.b_end) == (0, 23, 0, 23)


def test_a_black_lead_of_one_video_only_does_not_extend_a_clip_cut_from_the_middle_of_the_other():
    # Given A opening on black, and B: A's seconds 5-15 after two seconds of pictures of its own
    hashes, quality = film(20, lead=2)
    own, own_quality = film(2)
    a = frames(hashes, quality)
    b = frames(np.r_[own, hashes[5:15]].astype(np.uint64), np.r_[own_quality, quality[5:15]])
    found = aligned_pictures(a, b, -3)
    out = extend_over_low_information(found, a, b, 10, a_step=1, b_step=1, a_duration=22, b_duration=12)
    assert out == found and (out.a_start, out.b_start) == (5, 2)


def test_black_frames_whose_hashes_are_far_apart_do_not_extend_the_footage():
    hashes, quality = film(20, lead=2)
    other = hashes.copy()
    other[:2] = np.uint64(2**64 - 1)  # flat, but a different flat picture (64 bits away)
    a, b = frames(hashes, quality), frames(other, quality.copy())
    found = aligned_pictures(a, b, 0)
    out = extend_over_low_information(found, a, b, 10, a_step=1, b_step=1, a_duration=22, b_duration=22)
    assert out == found


def test_a_black_lead_aligns_through_a_trim_of_the_other_video_no_further_than_its_start():
    # Given B: A from 1 s on (it opens on A's second black second); the pictures align from A's 2 s, B's 1 s
    hashes, quality = film(20, lead=2)
    a = frames(hashes, quality)
    b = frames(hashes[1:].copy(), quality[1:].copy())
    out = extend_over_low_information(aligned_pictures(a, b, -1), a, b, 10, a_step=1, b_step=1,
                                      a_duration=22, b_duration=21)
    assert (out.a_start, out.b_start) == (1, 0)


def test_black_frames_whose_phash_is_noise_still_match_by_their_centre_crop_as_the_frame_join_measures():
    # Given a copy whose black frames' phash is noise (VP9's black hashes 0x9999...) but whose centre-crop
    # hash is still that of black
    hashes, quality = film(20, lead=2)
    noisy_black = hashes.copy()
    noisy_black[:2] = np.uint64(0x9999999999999999)
    a = frames(hashes, quality)
    b = VideoFrames(np.arange(22.0), noisy_black, noisy_black, hashes.copy(), quality.astype(np.uint8))
    found = aligned_pictures(a, b, 0)
    # Then with the crops (dupes' default) the black lead is shared footage, without them it is not
    with_crops = extend_over_low_information(found, a, b, 10, a_step=1, b_step=1, a_duration=22, b_duration=22)
    alone = extend_over_low_information(found, a, b, 10, a_step=1, b_step=1, a_duration=22, b_duration=22,
                                        crops=False)
    assert (with_crops.a_start, with_crops.b_start) == (0, 0) and alone == found


def flipped(hash_: np.uint64, bits: int) -> np.uint64:
    """`hash_` with its `bits` lowest bits flipped: a picture that many bits away."""
    return hash_ ^ np.uint64((1 << bits) - 1)


def clip_of(film_hashes: np.ndarray, start: int, last_bits: int) -> IndexedVideo:
    """An 8 s clip of the film from `start` s whose frames match the film's within 2 bits, but its last, which
    fast action puts `last_bits` bits from the film's frame at its time."""
    hashes = np.array([flipped(h, 2) for h in film_hashes[start:start + 8]], np.uint64)
    hashes[-1] = flipped(film_hashes[start + 7], last_bits)
    return IndexedVideo("clip.mp4", 8.0, 640, 360, 25.0, frames(hashes, np.full(8, PICTURE)))


@pytest.mark.parametrize(("last_bits", "film_end", "clip_end"), [(14, 13, 8), (24, 12, 7)],
                         ids=["fast-action-14-bits-off-ends-at-the-clips-end", "another-picture-24-bits-off-does-not"])
def test_the_shared_footage_runs_over_a_last_frame_a_few_bits_past_the_frame_distance_but_not_over_another_picture(
        last_bits, film_end, clip_end):
    # Given a 20 s film and an 8 s clip of it from 5 s whose last frame is `last_bits` from the film's
    hashes, quality = film(20)
    film_video = IndexedVideo("film.mp4", 20.0, 640, 360, 25.0, frames(hashes, quality))
    # When the pair is made at frame distance 10, Then the shared footage ends where that frame says
    (pair,) = video_pairs([film_video, clip_of(hashes, 5, last_bits)], max_distance=10)
    al = pair.alignment
    assert (al.a_start, al.a_end, al.b_start, al.b_end) == (5, film_end, 0, clip_end)


def test_a_close_frame_just_past_the_end_of_a_trimmed_copy_does_not_extend_it_past_the_trim():
    # Given slow footage (each second 3 bits from the one before) and a copy of its first 10 s
    hashes = np.array([flipped(np.uint64(0xF0F0F0F0F0F0F0F0), (3 * k) % 48) for k in range(20)], np.uint64)
    a = frames(hashes, np.full(20, PICTURE))
    b = frames(hashes[:10].copy(), np.full(10, PICTURE))
    found = aligned_pictures(a, b, 0)
    # When each end is tried one frame further, Then the end stays at the copy's end
    out = extend_by_close_frames(found, a, b, 10, a_step=1, b_step=1, a_duration=20, b_duration=10)
    assert (out.a_start, out.a_end, out.b_start, out.b_end) == (0, 10, 0, 10)


def test_a_close_frame_just_before_the_start_extends_it_by_a_step():
    # Given a clip from 5 s whose first frame is 15 bits from the film's at its time
    hashes, quality = film(20)
    a = frames(hashes, quality)
    clip = np.array([flipped(h, 2) for h in hashes[5:13]], np.uint64)
    clip[0] = flipped(hashes[5], 15)
    b = frames(clip, np.full(8, PICTURE))
    i = np.arange(6, 13)
    found = align(a.times[i], b.times[i - 5], np.full(len(i), 2), a_step=1, b_step=1, a_duration=20, b_duration=8)
    assert (found.a_start, found.b_start) == (6, 1)
    out = extend_by_close_frames(found, a, b, 10, a_step=1, b_step=1, a_duration=20, b_duration=8)
    assert (out.a_start, out.a_end, out.b_start, out.b_end) == (5, 13, 0, 8)


def test_a_clip_query_whose_last_frame_misses_its_film_by_a_few_bits_more_than_the_frame_distance_ends_at_its_end():
    hashes, quality = film(20)
    film_video = IndexedVideo("film.mp4", 20.0, 640, 360, 25.0, frames(hashes, quality))
    clip = clip_of(hashes, 5, 14)
    (match,) = clip_in_videos([film_video], clip.frames, clip.duration, 10)
    assert (match.start, match.end, match.query_start, match.query_end) == (5, 13, 0, 8)


def test_a_last_frame_sampled_a_little_before_one_step_past_the_frame_before_it_still_extends_the_end():
    # Given a clip whose last frame, 14 bits from the film's at its time, is sampled at 6.96 s, and the film's
    # frame at that time at 11.96 s (uneven grids: both a little before the end of the step before them)
    hashes, quality = film(20)
    film_video = IndexedVideo("film.mp4", 20.0, 640, 360, 25.0, frames(hashes, quality))
    film_video.frames.times[12] = 11.96
    clip = clip_of(hashes, 5, 14)
    clip.frames.times[-1] = 6.96
    # When the pair is made, Then that frame moves the end on by the step it opens
    (pair,) = video_pairs([film_video, clip], max_distance=10)
    assert (pair.alignment.b_end, pair.alignment.a_end) == pytest.approx((7.96, 12.96))
