"""What `hashfleet status` says of a job's progress (producer/cli/jobs.progress_summary): no broker needed."""

from __future__ import annotations

from producer.cli.jobs import progress_summary
from producer.job import Job
from producer.video.plan import VideoPlan


def job(videos: VideoPlan | None = None) -> Job:
    return Job(id="j", algo="phash", hash_size=8, blobs=["chunk0", "chunk1"], counts=[5, 4], videos=videos)


def test_an_image_job_counts_chunks_and_files():
    assert progress_summary(job(), {0, 1}) == "2/2 chunks, 9/9 files hashed"
    assert progress_summary(job(), {1}) == "1/2 chunks, 4/9 files hashed"


def test_a_job_with_videos_counts_its_video_tasks_and_videos_apart_from_the_image_chunks():
    # Given two image chunks, a.mp4 cut into two segments (tasks 2 and 3) and b.mp4 whole (task 4)
    plan = VideoPlan(1.0, ["a.mp4", "b.mp4"], [[(0, 0.0, 60.0)], [(0, 60.0, None)], [(1, 0.0, None)]])
    # When the first chunk, a's first segment and b are in, Then a is not done yet: one video of two
    assert progress_summary(job(plan), {0, 2, 4}) == "1/2 image chunks, 5/9 images, 2/3 video tasks, 1/2 videos hashed"
    assert progress_summary(job(plan), {0, 1, 2, 3, 4}).endswith("3/3 video tasks, 2/2 videos hashed")
