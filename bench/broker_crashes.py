"""One worker through many Redis crashes: jobs of photos run one after another while a private redis-server
(AOF, appendfsync always) is SIGKILLed and started again on the same port and directory, with outages of
0.5-3 s by default. The worker's main process must live through all of them (same PID at the end) and every
job's output must be exact. With --rabbitmq the broker is instead a vhost of its own on the local RabbitMQ
(127.0.0.1:5672, guest), whose app is stopped and started again (`rabbitmqctl stop_app`, `start_app`: everyone
using that RabbitMQ sees it, so a few times at most); Redis is then the result backend only.

    python -m bench.broker_crashes [--crashes 30] [--min-outage 0.5] [--max-outage 3] [--files 400]
                                   [--concurrency 2] [--visibility-timeout 4] [--seed 0] [--rabbitmq]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile

from support.broker_crashes import CrashPlan, run_through_crashes
from support.rabbit import RabbitVhost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crashes", type=int, default=30)
    parser.add_argument("--min-outage", type=float, default=0.5, help="shortest outage (s)")
    parser.add_argument("--max-outage", type=float, default=3.0, help="longest outage (s)")
    parser.add_argument("--files", type=int, default=400, help="photos per job")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes of the one worker")
    parser.add_argument("--visibility-timeout", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0, help="seed of the outages and uptimes")
    parser.add_argument("--rabbitmq", action="store_true", help="restart the local RabbitMQ as broker instead")
    args = parser.parse_args(argv)
    plan = CrashPlan(crashes=args.crashes, outage=(args.min_outage, args.max_outage), files=args.files,
                     concurrency=args.concurrency, visibility_timeout=args.visibility_timeout, seed=args.seed)
    workdir = tempfile.mkdtemp(prefix="hashfleet-crashes-")
    passed = False
    rabbit = RabbitVhost() if args.rabbitmq else None
    try:
        run = run_through_crashes(plan, workdir, rabbit)
        print(run.summary())
        passed = run.main_process_exits == 0 and len(run.outages) >= plan.crashes
    finally:
        if rabbit:
            rabbit.delete()
        if passed:
            shutil.rmtree(workdir)
        else:
            print(f"kept {workdir} (worker log, producer output, Redis's AOF)", file=sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
