"""deploy/demo-multihost.sh: Redis, two worker hosts, a producer and Flower in network namespaces.

The demo must run a real job, say truthfully which host hashed how many files (its counts must add up
to the folder, and agree with Flower's), and leave nothing behind: no namespace, no link, no process,
also when it is stopped half-way.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

from support.netns import Background, netns_unavailable_reason
from support.servers import REPO, clean_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEMO = os.path.join(REPO, "deploy", "demo-multihost.sh")
IMAGES = os.path.join(REPO, "tests", "data", "images")
#: Seconds the whole demo may take: about 20 s measured (start-up, waiting for Flower's enable_events,
#: the job, a clean stop); the rest is room for a busy machine.
DEMO_TIMEOUT = 180
#: Seconds the demo gets to clean up after SIGTERM (each process gets 10 s to stop, then SIGKILL).
CLEANUP_TIMEOUT = 60
HOSTS = {"hosta": "10.78.0.11", "hostb": "10.78.0.12"}


@pytest.fixture
def netns():
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(f"the demo needs network namespaces: {reason}")


def demo_env() -> dict[str, str]:
    return clean_env(PYTHON=sys.executable)


def demo_leftovers(pid: int) -> list[str]:
    """Namespaces, root links and processes the demo run with `pid` left behind."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=15).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, timeout=15).stdout
    left = [n.split()[0] for n in names.splitlines() if n.startswith(f"hfdemo-{pid}-")]
    left += [line for line in links.splitlines() if f"hfd{pid}" in line]
    for proc in os.listdir("/proc"):
        if proc.isdigit():
            try:
                with open(f"/proc/{proc}/environ", "rb") as handle:
                    if f"HASHFLEET_QUEUE=demo-{pid}\0".encode() in handle.read():
                        left.append(f"process {proc}")
            except OSError:
                continue
    return left


def test_the_demo_hashes_the_folder_across_two_hosts_and_its_counts_add_up(netns):
    # Given the committed sample photos
    files = len(os.listdir(IMAGES))
    # When the demo runs on them
    demo = subprocess.Popen(["bash", DEMO, IMAGES], env=demo_env(), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = demo.communicate(timeout=DEMO_TIMEOUT)
    # Then it succeeds, and the files each host hashed (from its log) add up to the folder and the output
    assert demo.returncode == 0, out + err
    per_host = {host: (ip, int(count)) for host, ip, count in
                re.findall(r"^  (host[ab]) \(([\d.]+)\): (\d+) files in \d+ chunks$", out, re.M)}
    assert {host: ip for host, (ip, _) in per_host.items()} == HOSTS, out
    assert sum(count for _, count in per_host.values()) == files, out
    assert re.search(rf"^records in the output: {files}$", out, re.M), out
    # And Flower, asked over the demo network, tells the same counts for the same hosts
    seen = dict(re.findall(r"^  (host[ab])@[\d.]+: (\d+) files$", out, re.M))
    assert {host: int(count) for host, count in seen.items() if int(count)} == \
        {host: count for host, (_, count) in per_host.items() if count}, out
    assert re.search(r"^Flower ran at http://10\.78\.0\.2:5555/", out, re.M), out
    # And nothing of it is left
    assert demo_leftovers(demo.pid) == []


def test_the_demo_stopped_half_way_removes_every_namespace_and_process(netns):
    # Given the demo started, with its network and Redis up
    demo = Background(["bash", DEMO, IMAGES], env=demo_env(), cwd=REPO)
    try:
        demo.wait_for_line(r"^demo network ", DEMO_TIMEOUT, stream="out")
        # When it is stopped (as Ctrl-C or a service manager would) before the job
        os.kill(demo.proc.pid, signal.SIGTERM)
        code = demo.wait(CLEANUP_TIMEOUT)
    finally:
        demo.stop()
    # Then it exits as terminated, and its trap removed everything
    assert code == 128 + signal.SIGTERM, demo.stderr
    assert demo_leftovers(demo.proc.pid) == []
