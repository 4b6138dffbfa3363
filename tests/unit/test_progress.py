"""Progress: a live bar on a terminal, plain lines elsewhere; both count files (images, videos) and errors."""

import io

from producer.progress import JobProgress, progress_unit


def test_plain_progress_prints_counts_rate_errors_and_eta_when_not_a_terminal():
    stream = io.StringIO()
    with JobProgress(10, interval=0, stream=stream, interactive=False) as progress:
        progress.advance(4, 1)
        progress.advance(6, 0)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("hashed 4/10 images,") and "1 errors" in lines[0] and "ETA" in lines[0]
    assert lines[-1].startswith("hashed 10/10 images,")


def test_the_live_bar_shows_images_done_and_errors_on_a_terminal():
    stream = io.StringIO()
    with JobProgress(10, interval=0, stream=stream, interactive=True) as progress:
        progress.advance(10, 3)
    text = stream.getvalue()
    assert "10/10" in text and "3 errors" in text and "img/s" in text


def test_a_job_with_images_and_videos_counts_files_and_a_job_of_videos_counts_videos():
    assert progress_unit(images=5, videos=0) == "images"
    assert progress_unit(images=5, videos=2) == "files"
    assert progress_unit(images=0, videos=2) == "videos"
    stream = io.StringIO()
    with JobProgress(7, interval=0, stream=stream, interactive=False, unit="files") as progress:
        progress.advance(7, 0)
    assert stream.getvalue().startswith("hashed 7/7 files,") and "files/s" in stream.getvalue()


def test_a_job_with_videos_counts_tasks_too_and_takes_its_eta_from_them():
    # Given one film cut into four segment tasks
    stream = io.StringIO()
    with JobProgress(1, interval=0, stream=stream, interactive=False, unit="videos", tasks=4) as progress:
        # When two segments finish, Then the line says so and the ETA is finite though no video is done yet
        progress.advance(0, 0)
        progress.advance(0, 0)
        line = stream.getvalue().splitlines()[-1]
        assert line.startswith("hashed 0/1 videos (2/4 tasks),") and "ETA inf" not in line
        progress.advance(0, 0)
        progress.advance(1, 0)
    assert stream.getvalue().splitlines()[-1].startswith("hashed 1/1 videos (4/4 tasks),")


def test_the_live_bar_of_a_job_with_videos_shows_videos_and_tasks():
    stream = io.StringIO()
    with JobProgress(1, interval=0, stream=stream, interactive=True, unit="videos", tasks=3) as progress:
        for files in (0, 0, 1):
            progress.advance(files, 0)
    text = stream.getvalue()
    assert "1/1 videos" in text and "3/3" in text and "tasks" in text
