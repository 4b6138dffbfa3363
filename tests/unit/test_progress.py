"""Progress: a live bar on a terminal, plain lines elsewhere; both count images and errors."""

import io

from producer.progress import JobProgress


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
