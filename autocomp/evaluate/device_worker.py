"""One NeuronCore's device worker: ``python device_worker.py`` with NEURON_RT_VISIBLE_CORES set to its core.

It runs as a script under the runtime's interpreter (``nrtpy`` lives in its own environment, apart from ``nki``),
so it imports only the standard library, numpy and nrtpy: never autocomp, never candidate code. A NEFF is device
code the sandboxed compile step produced; loading and executing it runs nothing on the host. One process per
core because nrtpy holds one runtime per process. Requests arrive one JSON object per line on stdin, answers
leave one per line on stdout:

    {"op": "run", "neff": PATH, "inputs": [[NPY, DTYPE], ...], "out_dir": DIR}
        -> {"ok": true, "outputs": [NPY, ...], "dtypes": [NAME | null, ...]}   outputs as raw bytes; the dtype
           when the runtime reports a numeric one (it does not always: nrtpy's docs), for the parent to apply
    {"op": "benchmark", "neff": PATH, "inputs": [...], "warmup": N, "iterations": N}
        -> {"ok": true, "durations_ms": [...], "warmup": N}
    errors -> {"ok": false, "kind": "device" | "tool", "message": "..."}
"""

import json
import sys


def _array(np, path, dtype):
    """An input saved as same-width unsigned ints (numpy cannot store bfloat16/float8), viewed as ``dtype`` when
    ml_dtypes is here; the runtime copies bytes either way."""
    raw = np.load(path, allow_pickle=False)
    try:
        import ml_dtypes

        want = np.dtype(getattr(ml_dtypes, dtype)) if hasattr(ml_dtypes, dtype) else np.dtype(dtype)
    except (ImportError, TypeError):
        return raw
    return raw if raw.dtype == want else raw.view(want)


def _inputs(nrtpy, np, model, paths):
    # The NEFF names its inputs; the kernel's arguments are given in parameter order. The docs do not promise
    # that input_tensors_info lists them in that order: this adapter assumes it
    # (docs/evaluation.md#the-hardware-backend).
    names = list(model.input_tensors_info)
    if len(names) != len(paths):
        raise ValueError(f"the NEFF takes {len(names)} inputs ({', '.join(names)}), the kernel {len(paths)}")
    return {name: nrtpy.NrtpyTensor.from_numpy(_array(np, path, dtype), name=name)
            for name, (path, dtype) in zip(names, paths)}


def _handle(nrtpy, np, req, models):
    if req["op"] == "release":  # let another process (neuron-explorer capture) use the core
        models.clear()
        nrtpy.reset()
        return {"ok": True}
    neff = req["neff"]
    model = models.get(neff)
    if model is None:
        models.clear()  # one candidate at a time: keep only its NEFF loaded
        model = models[neff] = nrtpy.NrtpyModel.load_from_neff(neff)
    if req["op"] == "run":
        outputs = model(inputs=_inputs(nrtpy, np, model, req["inputs"]))
        files, dtypes = [], []
        # Outputs in the NEFF's order, taken to be the kernel's return order (the docs do not say).
        for i, tensor in enumerate(outputs.values()):
            raw = np.ascontiguousarray(tensor.numpy())
            dtypes.append(raw.dtype.name if raw.dtype.kind in "biuf" else None)
            path = f"{req['out_dir']}/device_out{i}.npy"
            np.save(path, raw.view(np.uint8).reshape(-1), allow_pickle=False)  # bytes; the parent knows the dtype
            files.append(path)
        return {"ok": True, "outputs": files, "dtypes": dtypes}
    if req["op"] == "benchmark":
        stats = model.benchmark(inputs=_inputs(nrtpy, np, model, req["inputs"]), warmup_iter=int(req["warmup"]),
                                benchmark_iter=int(req["iterations"]), mode="device")
        return {"ok": True, "durations_ms": [float(d) for d in stats.durations_ms],
                "warmup": int(stats.warmup_iterations)}
    return {"ok": False, "kind": "tool", "message": f"unknown request {req['op']!r}"}


def main() -> None:
    try:
        import nrtpy
        import numpy as np
    except ImportError as e:
        print(json.dumps({"ok": False, "kind": "tool", "message": f"cannot import the runtime: {e}"}), flush=True)
        return
    print(json.dumps({"ok": True, "ready": True, "nrtpy": getattr(nrtpy, "__version__", "unknown")}), flush=True)
    models = {}
    for line in sys.stdin:
        try:
            answer = _handle(nrtpy, np, json.loads(line), models)
        except RuntimeError as e:  # nrtpy.NrtError / NrtpyError: the NEFF failed on the device
            answer = {"ok": False, "kind": "device", "message": f"{type(e).__name__}: {e}"[:500]}
        except Exception as e:  # noqa: BLE001 - anything else is this worker's failure, reported, not fatal
            answer = {"ok": False, "kind": "tool", "message": f"{type(e).__name__}: {e}"[:500]}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
