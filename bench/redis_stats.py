"""What a job costs one Redis: commands by name, bytes in and out, and redis-server CPU, per chunk.

Used by `python -m bench.synthetic --redis-stats`: :func:`snapshot` reads `INFO commandstats`, `INFO stats`
and `INFO cpu` of the bench's own private redis-server (it is also reset there with `CONFIG RESETSTAT`,
never on any other server); the difference of two snapshots, divided by the job's chunks, is the per-chunk
cost. An idle interval with the workers connected but no job is measured first, so the background
(the workers' blocking pops, timers, Redis's own cron) can be told apart from the job.
Also reads the CPU seconds of a process tree from /proc, to say which process is the bottleneck.
"""

from __future__ import annotations

import dataclasses
import os

import redis

#: Clock ticks per second of /proc/<pid>/stat utime and stime.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Fraction of one core Redis may use in the ceiling estimate (single-threaded: one core at 100 %).
REDIS_CORE = 1.0
#: CPU seconds of one camera image on a worker (bench/RESULTS.md, warm-1, 1/8-scale JPEG decoding).
CAMERA_IMAGE_CPU_S = 0.005
#: CPU seconds of one small image on a worker.
SMALL_IMAGE_CPU_S = 0.001
#: Cores of the worker host the capacity is expressed in.
HOST_CORES = 16
#: Commands listed by name in the report; the rest are summed as "other".
TOP_COMMANDS = 30


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Cumulative counters of one redis-server at one moment."""

    calls: dict[str, int]
    usec: dict[str, int]
    net_in: int
    net_out: int
    cpu_s: float


def reset(client: redis.Redis) -> None:
    """CONFIG RESETSTAT: commandstats and net counters to zero (CPU counters are not reset)."""
    client.config_resetstat()


def snapshot(client: redis.Redis) -> Snapshot:
    stats, cpu = client.info("stats"), client.info("cpu")
    commands = client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in commands.items()}
    usec = {name.removeprefix("cmdstat_"): int(v["usec"]) for name, v in commands.items()}
    return Snapshot(calls, usec, int(stats["total_net_input_bytes"]), int(stats["total_net_output_bytes"]),
                    float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]))


class Delta(Snapshot):
    """Counters between two snapshots (same fields, counted from the first)."""

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def diff(before: Snapshot, after: Snapshot) -> Delta:
    calls = {k: v - before.calls.get(k, 0) for k, v in after.calls.items() if v - before.calls.get(k, 0)}
    usec = {k: after.usec[k] - before.usec.get(k, 0) for k in calls}
    return Delta(calls, usec, after.net_in - before.net_in, after.net_out - before.net_out,
                 after.cpu_s - before.cpu_s)


def tree_cpu_s(root: int, children: list[int]) -> float:
    """utime + stime of `root` and `children` (each process alone, not its reaped children)."""
    total = 0
    for pid in [root, *children]:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLOCK_TICKS


def report(job: Delta, idle: Delta, idle_s: float, job_s: float, chunks: int, chunk_size: int) -> str:
    """The per-chunk table, the idle background, and the capacity one Redis gives at this chunk size."""
    lines = [f"Redis during the job ({job_s:.2f} s, {chunks} chunks): {job.total_calls} commands = "
             f"{job.total_calls / chunks:.1f}/chunk; in {job.net_in / chunks:,.0f} B/chunk, "
             f"out {job.net_out / chunks:,.0f} B/chunk; CPU {job.cpu_s:.3f} s = {job.cpu_s / chunks * 1e6:.0f} "
             f"us/chunk ({job.cpu_s / job_s * 100:.0f} % of one core)"]
    lines.append("| command | calls/chunk | usec/chunk (commandstats) |")
    lines.append("|---|---:|---:|")
    ranked = sorted(job.calls, key=job.calls.get, reverse=True)
    for name in ranked[:TOP_COMMANDS]:
        lines.append(f"| {name} | {job.calls[name] / chunks:.2f} | {job.usec[name] / chunks:.1f} |")
    rest = ranked[TOP_COMMANDS:]
    if rest:
        lines.append(f"| other ({len(rest)}) | {sum(job.calls[k] for k in rest) / chunks:.2f} | "
                     f"{sum(job.usec[k] for k in rest) / chunks:.1f} |")
    lines.append(f"| all | {job.total_calls / chunks:.2f} | {sum(job.usec.values()) / chunks:.1f} |")
    lines.append(f"idle background ({idle_s:.1f} s, workers connected, no job): {idle.total_calls / idle_s:.1f} "
                 f"commands/s, CPU {idle.cpu_s / idle_s * 1e3:.1f} ms/s; "
                 f"in the job's span that is {idle.cpu_s / idle_s * job_s / chunks * 1e6:.0f} us/chunk")
    lines.append(ceiling_line("Redis", job.cpu_s / chunks, chunk_size))
    return "\n".join(lines)


def ceiling_line(server: str, cpu_per_chunk: float, chunk_size: int) -> str:
    """Chunks/s and images/s one core of `server` carries at `cpu_per_chunk` seconds, and the hosts that feeds."""
    ceiling = REDIS_CORE / cpu_per_chunk
    images = ceiling * chunk_size
    return (f"ceiling of one {server} core: {ceiling:,.0f} chunks/s = {images:,.0f} images/s at chunk size "
            f"{chunk_size}; {HOST_CORES}-core hosts fed: {images * CAMERA_IMAGE_CPU_S / HOST_CORES:.0f} at "
            f"{CAMERA_IMAGE_CPU_S * 1e3:.0f} ms/image, {images * SMALL_IMAGE_CPU_S / HOST_CORES:.0f} at "
            f"{SMALL_IMAGE_CPU_S * 1e3:.0f} ms/image")
