"""`python -m worker.local`: a prefork worker of the `tasks` app, started without Celery's command line.

`celery -A tasks worker` first loads every Celery subcommand and the plugins installed for them (flower
with tornado, click-repl with prompt_toolkit): ~0.2 s of CPU before its worker starts, which embedded mode
would wait for on every `hashfleet run`. This starts the worker the `worker` subcommand starts
(`app.Worker`, given what that command passes for the options below); deployments keep `celery -A tasks
worker` and its full set of options.
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m worker.local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, required=True, help="prefork pool processes")
    parser.add_argument("--queues", required=True, help="comma-separated queues to consume")
    parser.add_argument("--hostname", required=True, help="node name; %%h is this host's name")
    parser.add_argument("--loglevel", default="WARNING")
    parser.add_argument("--include", default=None, help="comma-separated modules of more tasks")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from celery.concurrency import get_implementation
    from celery.utils.log import mlevel
    from celery.utils.nodenames import default_nodename, host_format

    import tasks

    worker = tasks.celery.Worker(
        hostname=host_format(default_nodename(args.hostname)), pool=get_implementation("prefork"),
        concurrency=args.concurrency, queues=args.queues.split(","), loglevel=mlevel(args.loglevel),
        include=args.include.split(",") if args.include else None, optimization="default",
        without_gossip=True, without_mingle=True, without_heartbeat=False)
    worker.start()
    sys.exit(worker.exitcode)


if __name__ == "__main__":
    main()
