"""Which candidates the evaluator trusts enough to run without a sandbox.

Trusted: the problem's own kernel (the baseline, written by whoever wrote the problem) and its *knob
settings*: the baseline with some of its knobs (problem.toml's ``[knobs]``, else the ALL_CAPS integer
constants the knob tuner infers) set to values of the knob's own range, every other byte unchanged. The knob
tuner's proposals from the baseline are exactly these; they run the problem author's code with other tile sizes.
Everything else is untrusted: whatever an LLM wrote, and knob settings of an LLM-written kernel (the knob tuner
also polishes those), which carry the LLM's code.
"""

from __future__ import annotations

from autocomp.problem import Problem


def is_trusted(problem: Problem, source: str) -> bool:
    baseline = problem.baseline_source
    if source == baseline:
        return True
    from autocomp.knobs import KnobError, knob_space, read_constants, rewrite_constants

    space = knob_space(baseline, problem.spec.knobs)
    values = read_constants(source)
    moved = {}
    for knob in space.knobs:
        if knob.name not in values:
            return False
        if values[knob.name] != space.current[knob.name]:
            if knob.index(values[knob.name]) is None:
                return False
            moved[knob.name] = space.current[knob.name]
    if not moved:
        return False
    try:
        return rewrite_constants(source, moved) == baseline
    except KnobError:
        return False
