"""The process that holds the evaluator's Ray connection: ``python -m autocomp.evaluate.executors.ray_proxy``.

Ray ends a driver process whose node's raylet dies (and one that stays cut off from the cluster's head for a
minute). The evaluator keeps the run, so it never connects to Ray itself: RayExecutor (ray.py) starts this
process and sends it, over its stdin and stdout, length-prefixed pickles of its own making:

    evaluator -> proxy   ("connect", settings), then ("run", id, NodeJob), ("device", id, DeviceJob) and
                         ("cancel", id)
    proxy -> evaluator   ("ready", {"slots", "neuron_cores", "gcs_address"}) or ("failed", why); then
                         (id, kind, value) per job, kind "ok" (a NodeOutcome or a DeviceOutcome), "refused", "lost"
                         or "error" (a message)

When the evaluator closes stdin the proxy disconnects (a private cluster stops) and exits. When Ray ends the
proxy, the evaluator reads the end of its stdout and stops the run resumably. The proxy never sees candidate
code run: that happens in the sandboxed workers of the cluster's tasks.
"""

from __future__ import annotations

import pickle
import struct
import sys
import threading

from autocomp.evaluate.executors.base import ExecutorLost
from autocomp.evaluate.executors.node import NodeRefused


def serve(stdin=None, stdout=None) -> None:
    from autocomp.evaluate.executors.ray import RayConnection, read_frame

    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing Ray prints may land in the answers
    write_lock = threading.Lock()

    def answer(message) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with write_lock:
            stdout.write(struct.pack("<Q", len(data)) + data)
            stdout.flush()

    first = read_frame(stdin)
    if first is None or first[0] != "connect":
        return
    try:
        connection = RayConnection(**first[1])
        answer(("ready", {"slots": connection.slots(), "neuron_cores": connection.neuron_cores(),
                          "gcs_address": connection._gcs_address}))
    except Exception as e:  # noqa: BLE001 - told to the evaluator, which raises RayUnavailable with it
        answer(("failed", str(e)))
        return
    refs: dict[int, object] = {}
    refs_lock = threading.Lock()

    def run(kind: str, ident: int, job) -> None:
        def remember(ref) -> None:
            with refs_lock:
                refs[ident] = ref

        call = connection.run_device if kind == "device" else connection.run
        try:
            message = (ident, "ok", call(job, on_submit=remember))
        except NodeRefused as e:
            message = (ident, "refused", str(e))
        except ExecutorLost as e:
            message = (ident, "lost", str(e))
        except Exception as e:  # noqa: BLE001
            message = (ident, "error", f"{type(e).__name__}: {e}")
        finally:
            with refs_lock:
                refs.pop(ident, None)
        try:
            answer(message)
        except OSError:
            pass  # the evaluator is gone

    try:
        while True:
            message = read_frame(stdin)
            if message is None:
                break
            if message[0] in ("run", "device"):
                threading.Thread(target=run, args=message, name="autocomp-ray-job", daemon=True).start()
            elif message[0] == "cancel":
                with refs_lock:
                    ref = refs.get(message[1])
                if ref is not None:
                    try:
                        connection.cancel(ref)
                    except Exception:  # noqa: BLE001 - already finished, or the cluster is gone
                        pass
    finally:
        connection.close()


if __name__ == "__main__":
    serve()
