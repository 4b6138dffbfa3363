"""What the PNG chunk-length check (tasks/png.chunks_fit, run before every PNG decode) costs against the
decode itself, over the real-photo corpus' PNGs, in one process.

    python -m bench.png_check [--corpus ~/corpus] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from tasks.image.decode import decode_robust
from tasks.image.png import chunks_fit


def timed(fun, items) -> float:
    started = time.perf_counter()
    for item in items:
        fun(item)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=os.path.expanduser("~/corpus"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    paths = sorted(os.path.join(d, f) for d, _, files in os.walk(args.corpus) for f in files
                   if f.lower().endswith(".png"))
    datas = []
    for path in paths:
        with open(path, "rb") as handle:
            datas.append(handle.read())
    checks, decodes = [], []
    for _ in range(args.repeats):  # alternating, so load hits both
        checks.append(timed(chunks_fit, datas))
        decodes.append(timed(decode_robust, datas))
    check, decode = statistics.median(checks), statistics.median(decodes)
    print(f"{len(datas)} PNGs, {sum(map(len, datas)) / 2**20:.0f} MiB: chunks_fit {check * 1e3:.1f} ms "
          f"({check / len(datas) * 1e6:.1f} us/file), decode_robust {decode:.2f} s "
          f"({decode / len(datas) * 1e3:.2f} ms/file): the check is {check / decode * 100:.2f} % of the decode "
          f"(medians of {args.repeats})")


if __name__ == "__main__":
    main()
