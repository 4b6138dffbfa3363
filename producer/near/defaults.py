"""Defaults of `dupes`, `search` and `report`, apart from the code that uses them: the CLI reads them to build
its options without loading numpy or OpenCV (every `hashfleet run` imports the CLI)."""

#: The hash near-duplicates are judged by, and its centre-crop twin.
DEFAULT_HASH = "phash"
CENTRE_HASH = "phash-centre"
#: Default --max-distance (bits of 64), chosen with the quality benchmark (bench/RESULTS.md): with the
#: centre-crop hashes every edit of the benchmark is found (recall 0.998, 4 % border crops 1.000) and no
#: pair of unrelated pictures among 24.6 million; phash distances are always even, so 9 would equal 8.
DEFAULT_MAX_DISTANCE = 8
#: --keep choices: which file of a group to keep (producer/near/keep.py); the first is the default.
KEEP_POLICIES = ("original", "largest", "biggest-file", "oldest", "newest")
#: Default --frame-distance: largest phash distance of two video frames that show the same picture (higher
#: than images': sampled frames of two copies are up to half a sampling step apart), chosen with
#: bench/video_quality.py (bench/VIDEO_QUALITY.md).
DEFAULT_FRAME_DISTANCE = 10
