"""What a job costs RabbitMQ as the broker: AMQP messages, bytes on the job's connections, and beam.smp CPU.

Used by `python -m bench.synthetic --broker rabbitmq --redis-stats`. The job runs in a vhost of its own
on the system RabbitMQ (created and deleted by support/rabbit.py's `RabbitVhost`, with `rabbitmqctl`, which
needs root or the rabbitmq user). Without the management plugin the counters come from `rabbitmqctl`:

- bytes: `list_connections recv_oct send_oct` of the connections in the private vhost (a connection
  closed before the second snapshot would be lost, so the bench takes it while every client is still open);
- messages: the node's global AMQP 0-9-1 counters (`rabbit_global_counters:overview()`, through
  `rabbitmqctl eval`): received (published), delivered and acknowledged. They count the whole node, so
  :func:`foreign_connections` tells whether anyone else was connected at the time;
- CPU: utime + stime of the beam.smp process from /proc, read *inside* the `rabbitmqctl` snapshots (each
  `rabbitmqctl` call is an Erlang node that costs beam.smp CPU of its own).
"""

from __future__ import annotations

import dataclasses
import os

from support.rabbit import rabbitmqctl

#: Clock ticks per second of /proc/<pid>/stat utime and stime.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Erlang expression printing the node's AMQP 0-9-1 message counters (classic queues) as four integers.
COUNTERS_EVAL = (
    "O = rabbit_global_counters:overview(), P = maps:get([{protocol,amqp091}], O), "
    "Q = maps:get([{protocol,amqp091},{queue_type,rabbit_classic_queue}], O), "
    "io:format(\"~b ~b ~b ~b~n\", [maps:get(messages_received_total, P), maps:get(messages_routed_total, P), "
    "maps:get(messages_delivered_total, Q), maps:get(messages_acknowledged_total, Q)]).")
COUNTER_NAMES = ("published", "routed", "delivered", "acknowledged")


def beam_pid() -> int:
    """The RabbitMQ node's beam.smp process (the one started with `-s rabbit boot`)."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    argv = handle.read().split(b"\0")
            except OSError:
                continue
            if argv[0].endswith(b"beam.smp") and b"rabbit" in argv:
                return int(pid)
    raise RuntimeError("no RabbitMQ beam.smp process found (is rabbitmq-server running?)")


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Node message counters, bytes per connection of one vhost, beam.smp CPU seconds."""

    messages: dict[str, int]
    recv: dict[str, int]
    send: dict[str, int]
    cpu_s: float


def counters() -> dict[str, int]:
    return dict(zip(COUNTER_NAMES, (int(v) for v in rabbitmqctl("eval", COUNTERS_EVAL).split()[:4]), strict=True))


def connection_bytes(vhost: str) -> tuple[dict[str, int], dict[str, int]]:
    out = rabbitmqctl("list_connections", "-p", vhost, "--quiet", "--no-table-headers", "name", "recv_oct", "send_oct")
    recv, send = {}, {}
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) == 3:
            recv[fields[0]], send[fields[0]] = int(fields[1]), int(fields[2])
    return recv, send


def foreign_connections(vhost: str) -> int:
    """Connections to the node in other vhosts (other users whose messages the node counters include)."""
    out = rabbitmqctl("list_connections", "--quiet", "--no-table-headers", "vhost")
    return sum(1 for line in out.splitlines() if line.strip() and line.strip() != vhost)


def snapshot_before(vhost: str, pid: int) -> Snapshot:
    """Counters first, CPU last: the rabbitmqctl calls' own CPU falls before the interval."""
    messages, (recv, send) = counters(), connection_bytes(vhost)
    return Snapshot(messages, recv, send, cpu_s(pid))


def snapshot_after(vhost: str, pid: int) -> Snapshot:
    """CPU first, counters last: the rabbitmqctl calls' own CPU falls after the interval."""
    cpu = cpu_s(pid)
    recv, send = connection_bytes(vhost)
    return Snapshot(counters(), recv, send, cpu)


def report(before: Snapshot, after: Snapshot, idle_cpu_per_s: float, job_s: float, chunks: int) -> tuple[str, float]:
    """Lines for messages, bytes and CPU per chunk (idle background subtracted), and that CPU in seconds."""
    messages = {k: after.messages[k] - before.messages[k] for k in COUNTER_NAMES}
    recv = sum(v - before.recv.get(k, 0) for k, v in after.recv.items())
    send = sum(v - before.send.get(k, 0) for k, v in after.send.items())
    cpu = after.cpu_s - before.cpu_s
    net_cpu = cpu - idle_cpu_per_s * job_s
    counts = ", ".join(f"{k} {v / chunks:.2f}" for k, v in messages.items())
    lines = [f"RabbitMQ during the job ({job_s:.2f} s, {chunks} chunks): messages/chunk: {counts}",
             f"  AMQP bytes on the vhost's connections: into RabbitMQ {recv / chunks:,.0f} B/chunk, "
             f"out of it {send / chunks:,.0f} B/chunk",
             f"  beam.smp CPU {cpu:.3f} s, idle background {idle_cpu_per_s * 1e3:.1f} ms/s x {job_s:.2f} s "
             f"subtracted: {net_cpu:.3f} s = {net_cpu / chunks * 1e6:.0f} us/chunk "
             f"({net_cpu / job_s * 100:.0f} % of one core)"]
    return "\n".join(lines), net_cpu
