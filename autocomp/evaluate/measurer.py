"""Timing candidates in trusted processes: ``python -m autocomp.evaluate.measurer`` servers fed requests.

The cost model is CPU-bound Python: run in the evaluator's own threads, the timings of parallel candidates
would queue on one interpreter lock. Each server here is a fresh interpreter that imports autocomp and numpy
and never candidate code: it reads one JSON line per request (backend name and options, a TimingRequest),
re-creates the backend, runs its measuring half on the files the worker left, and answers with one JSON line
(the Timing, or why not). It exits when its stdin closes, so it never outlives the evaluator that started it.

    measurer = MeasurerPool(backend, processes=2)
    timing = measurer(request)      # from any thread; raises TraceRejected / KernelFault like backend.measure
    measurer.close()
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from autocomp.evaluate.protocol import KernelFault, Timing, TimingRequest

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class MeasurerError(RuntimeError):
    """A measuring server failed (crashed, or answered something unreadable): the tools' failure."""


class _Server:
    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen([sys.executable, "-m", "autocomp.evaluate.measurer"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
                                     bufsize=1)

    def ask(self, line: str) -> str:
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline()
        except (BrokenPipeError, OSError, ValueError):
            answer = ""
        if not answer:
            code = self.proc.poll()
            raise MeasurerError(f"the measuring process ended without an answer (exit code {code})")
        return answer

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class MeasurerPool:
    """Up to ``processes`` measuring servers for ``backend``, started on first use; callable like
    ``backend.measure``."""

    def __init__(self, backend, processes: int):
        self.backend_name = backend.name
        # The worker's options plus what only the trusted half gets (the sim backend's calibration).
        self.backend_options = {**backend.options(), **measure_options(backend)}
        self.processes = max(1, processes)
        paths = [_PACKAGE_ROOT, *backend.pythonpath(), *(p for p in sys.path if p and os.path.isdir(p))]
        self._env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)), "PYTHONDONTWRITEBYTECODE": "1",
                     "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self._idle: queue.Queue[_Server] = queue.Queue()
        self._started = 0
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> None:
        """Start the servers now (they import while the first candidates run), not on the first request."""
        with self._lock:
            while not self._closed and self._started < self.processes:
                self._started += 1
                self._idle.put(_Server(self._env))

    def _take(self) -> _Server:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._closed:
                raise MeasurerError("the measuring processes were shut down")
            if self._started < self.processes:
                self._started += 1
                return _Server(self._env)
        return self._idle.get()

    def __call__(self, request: TimingRequest) -> Timing:
        line = json.dumps({"backend": self.backend_name, "options": self.backend_options,
                           "request": request.model_dump(mode="json")})
        server = self._take()
        try:
            answer = server.ask(line)
        except MeasurerError:
            server.close()
            with self._lock:
                self._started -= 1  # the next call starts a fresh one
            raise
        with self._lock:
            closed = self._closed
        if closed:
            server.close()
        else:
            self._idle.put(server)
        return _result(answer)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break


def measure_options(backend) -> dict:
    """The backend's options for its measuring half only (base.py), or none."""
    extra = getattr(backend, "measure_options", None)
    return dict(extra()) if callable(extra) else {}


def _result(answer: str) -> Timing:
    from autocomp.evaluate.trace_check import TraceRejected

    try:
        data = json.loads(answer)
        kind, value = next(iter(data.items()))
    except (ValueError, StopIteration, AttributeError):
        raise MeasurerError(f"the measuring process answered {answer[:200]!r}") from None
    if kind == "timing":
        return Timing.model_validate(value)
    if kind == "rejected":
        raise TraceRejected(str(value))
    if kind == "fault":
        raise KernelFault(str(value))
    raise MeasurerError(str(value))


# --------------------------------------------------------------------------- the server
def serve(stdin=None, stdout=None) -> None:
    """Answer measuring requests, one JSON line each, until stdin closes."""
    import autocomp.nki.trace_codec  # noqa: F401 - the slow imports, before the first request
    import autocomp.perf  # noqa: F401
    from autocomp.evaluate.backends import create_backend
    from autocomp.evaluate.trace_check import TraceRejected

    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    backends: dict[str, object] = {}
    for line in stdin:
        try:
            data = json.loads(line)
            key = json.dumps([data["backend"], data["options"]], sort_keys=True)
            if key not in backends:
                backends[key] = create_backend(data["backend"], **data["options"])
            timing = backends[key].measure(TimingRequest.model_validate(data["request"]))
            answer = {"timing": timing.model_dump(mode="json")}
        except TraceRejected as e:
            answer = {"rejected": str(e)}
        except KernelFault as e:
            answer = {"fault": str(e)}
        except Exception as e:  # the answer says what failed; the server stays up for the next request
            answer = {"error": f"{type(e).__name__}: {e}"[:2000]}
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()


if __name__ == "__main__":
    serve()
