"""A checker of the Trace Event Format (Chrome trace / Perfetto JSON) rules for the event kinds autocomp writes."""

from __future__ import annotations

METADATA = {"process_name": "name", "thread_name": "name", "process_sort_index": "sort_index",
            "thread_sort_index": "sort_index"}


def check_trace_format(doc) -> list[str]:
    """Everything in ``doc`` that breaks the Trace Event Format's JSON object form (complete and metadata events)."""
    problems = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["the document is not an object with a traceEvents list"]
    if doc.get("displayTimeUnit", "ms") not in ("ms", "ns"):
        problems.append(f"displayTimeUnit {doc['displayTimeUnit']!r} is neither 'ms' nor 'ns'")
    for i, ev in enumerate(doc["traceEvents"]):
        where = f"event {i}"
        if not isinstance(ev, dict):
            problems.append(f"{where} is not an object")
            continue
        ph = ev.get("ph")
        if not isinstance(ev.get("name"), str):
            problems.append(f"{where}: name must be a string")
        for key in ("pid", "tid"):
            if not isinstance(ev.get(key), int) or isinstance(ev.get(key), bool):
                problems.append(f"{where}: {key} must be an integer")
        if "args" in ev and not isinstance(ev["args"], dict):
            problems.append(f"{where}: args must be an object")
        if ph == "X":
            for key in ("ts", "dur"):
                v = ev.get(key)
                if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                    problems.append(f"{where}: {key} must be a number >= 0")
            if "cat" in ev and not isinstance(ev["cat"], str):
                problems.append(f"{where}: cat must be a string")
        elif ph == "M":
            arg = METADATA.get(ev.get("name"))
            if arg is None:
                problems.append(f"{where}: unknown metadata event {ev.get('name')!r}")
            elif arg not in (ev.get("args") or {}):
                problems.append(f"{where}: metadata {ev['name']} needs args.{arg}")
        else:
            problems.append(f"{where}: phase {ph!r} is not one this exporter writes (X or M)")
    return problems
