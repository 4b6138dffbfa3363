"""The local RabbitMQ's app stopped and started again (`rabbitmqctl stop_app` / `start_app`): a broker restart as
its clients see it. The node stays up and every vhost keeps its durable queues and persistent messages. Everyone
using this RabbitMQ sees the restart: do it a few times at most."""

from __future__ import annotations

import time

from support.rabbit import RabbitMissing, RabbitVhost, ping, rabbitmqctl

#: Seconds the app gets to accept connections again after `start_app` returns.
START_TIMEOUT = 60.0
#: Pause between connection attempts while it starts.
POLL = 0.2


class RabbitApp:
    """`kill()` stops the app, `start()` starts it and waits until `vhost` accepts connections (the interface of
    worker.redis_server.RedisServer that support/broker_crashes.py uses)."""

    def __init__(self, vhost: RabbitVhost):
        self.vhost = vhost

    def kill(self) -> None:
        try:
            rabbitmqctl("stop_app")
        except RabbitMissing:
            rabbitmqctl("start_app")  # never leave it stopped halfway
            raise

    def start(self) -> None:
        rabbitmqctl("start_app")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                ping(self.vhost.url, timeout=1.0)
                return
            except RabbitMissing:
                if time.monotonic() > deadline:
                    raise
                time.sleep(POLL)
