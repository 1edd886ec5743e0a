"""A Ray cluster of several nodes on 127.0.0.1 for the tests, held by a process of its own (never the test's):
``python -m tests.fakes.ray_nodes TEMP_DIR SPEC`` where SPEC is JSON ``{"head": {...}, "workers": [{...}, ...]}``
(each node's ``num_cpus`` and ``resources``, e.g. ``{"neuron_cores": 2}``).

``ray start`` cannot join a second node to a loopback-only head (it rewrites 127.0.0.1 to the machine's address),
so the nodes are started with ``ray.cluster_utils.Cluster``, every address on loopback. The process prints one
JSON line, ``{"address", "head", "workers": [{"id", "raylet_pid"}, ...]}``, then obeys its stdin: ``kill I``
SIGKILLs worker node I's processes at once, its raylet and everything under it (its Ray workers and what they
started): a lost machine; it answers ``killed I``. The end of stdin shuts the cluster down.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def _descendants(root: int) -> list[int]:
    """``root`` and every process under it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _kill_tree(root: int) -> None:
    for _ in range(3):  # a process may start a child while its siblings die
        pids = _descendants(root)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def main() -> None:
    temp_dir, spec = sys.argv[1], json.loads(sys.argv[2])
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # every node on loopback
    import ray._private.utils

    ray._private.utils.write_ray_address = lambda *args, **kwargs: None  # never under /tmp/ray: not ours
    from ray.cluster_utils import Cluster

    common = {"node_ip_address": "127.0.0.1", "object_store_memory": 100 << 20}
    head = dict(spec.get("head", {}), **common, include_dashboard=False, temp_dir=temp_dir)
    cluster = Cluster(initialize_head=True, head_node_args=head)
    workers = [cluster.add_node(**dict(node, **common)) for node in spec.get("workers", [])]
    info = {"address": cluster.address, "head": cluster.head_node.node_id,
            "workers": [{"id": n.node_id, "raylet_pid": n.all_processes["raylet"][0].process.pid} for n in workers]}
    print(json.dumps(info), flush=True)
    try:
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["kill"]:
                index = int(words[1])
                _kill_tree(workers[index].all_processes["raylet"][0].process.pid)
                cluster.remove_node(workers[index], allow_graceful=False)
                print(f"killed {index}", flush=True)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
