"""What a planning prompt says has been tried: on the kernel's own lineage, and the same ideas on other branches.

An idea is named by the menu item a plan says it follows (``[hoist] ...``, as plan.md
asks), else by its first sentence, so an idea that failed on a cousin branch is shown
before it is tried again. Every text is summarised at sentence boundaries: a reason
is never cut in the middle of a sentence (a single overlong sentence is the one
exception, cut at a word and marked with an ellipsis).

Only candidates of iterations before the one being planned are shown, so a prompt
never depends on how far the current iteration has got.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from autocomp.search.node import BASELINE, Node

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_TAG = re.compile(r"^\s*(?:[-*#>]\s*|\d+[.)]\s*)*\[([A-Za-z0-9_.-]+)\]")
_LIST_MARK = re.compile(r"^\s*(?:[-*#>]+\s*|\d+[.)]\s+)+")
_WORDS = re.compile(r"[a-z0-9_]+")
# An overlong first sentence may run this many times the limit before it is cut at a word.
_OVERLONG = 2


def summarize(text: str | None, limit: int = 200) -> str:
    """Whole sentences of ``text`` (whitespace folded) up to ``limit`` characters; the first one always."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    sentences = _SENTENCE_END.split(flat)
    out = sentences[0]
    if len(out) > _OVERLONG * limit:
        cut = out[:_OVERLONG * limit].rsplit(" ", 1)[0]
        return cut.rstrip(",;:") + " ..."
    for sentence in sentences[1:]:
        if len(out) + 1 + len(sentence) > limit:
            break
        out += " " + sentence
    return out


def plan_title(plan: str | None) -> str:
    """The plan's first line without list marks or its idea tag, as one summary."""
    for line in (plan or "").splitlines():
        line = _TAG.sub("", line, count=1)
        line = _LIST_MARK.sub("", line).strip()
        if line:
            return summarize(line, 160)
    return ""


def idea_of(plan: str | None, menu_ids: Collection[str] = ()) -> str:
    """The idea a plan follows: ``[id]`` of a menu item when it names one, else its normalised first sentence."""
    m = _TAG.match(plan or "")
    if m and (not menu_ids or m.group(1) in menu_ids):
        return m.group(1)
    title = _SENTENCE_END.split(plan_title(plan))[0]
    return " ".join(_WORDS.findall(title.lower())[:12])


def result_text(child: Node, parent: Node | None) -> str:
    """How one attempt ended: its status and latency, or its failure's reason in whole sentences."""
    out = child.outcome
    if out is None:
        return "not evaluated"
    if child.correct:
        text = f"correct, {child.latency_us:.1f} us ({child.evidence})"
        if parent is not None and parent.correct:
            ratio = parent.latency_us / child.latency_us
            text += f", {ratio:.2f}x vs its parent" + (" (slower)" if ratio < 1 else "")
        shapes = out.shape_text(parent.outcome if parent is not None and parent.correct else None)
        return f"{text}; {shapes}" if shapes else text
    reason = summarize(out.reason, 220)
    return f"{out.status}: {reason}" if reason else out.status


@dataclass
class Attempt:
    child: Node
    parent: Node | None
    idea: str


def attempts(nodes: Iterable[Node], by_id: dict[int, Node], iteration: int,
             menu_ids: Collection[str]) -> list[Attempt]:
    """Every evaluated LLM-written candidate of an iteration before ``iteration``, by id."""
    out = []
    for node in sorted(nodes, key=lambda n: n.id):
        if node.iteration >= iteration or node.outcome is None or node.origin == BASELINE or not node.plan:
            continue
        parent = by_id.get(node.parent_id) if node.parent_id is not None else None
        out.append(Attempt(node, parent, idea_of(node.plan, menu_ids)))
    return out


def lineage_lines(lineage: Sequence[Node], children: dict[int, list[Node]], iteration: int,
                  menu_ids: Collection[str]) -> list[str]:
    """Attempts made from ``lineage``'s kernels before ``iteration``, oldest first."""
    lines = []
    for ancestor in lineage:
        for child in children.get(ancestor.id, []):
            if child.iteration >= iteration or child.outcome is None:
                continue
            idea = idea_of(child.plan, menu_ids)
            tag = f"[{idea}] " if idea in menu_ids else ""
            title = plan_title(child.plan) or child.origin
            lines.append(f"- #{ancestor.id} -> #{child.id} (iteration {child.iteration}, {child.origin}): {tag}{title} "
                         f"-> {result_text(child, ancestor)}")
    return lines


def elsewhere_lines(others: Sequence[Attempt], *, first: Collection[str], menu_ids: Collection[str],
                    limit: int) -> list[str]:
    """Attempts on other branches grouped by idea: ideas in ``first`` (tried here, or offered now) lead."""
    groups: dict[str, list[Attempt]] = {}
    for a in others:
        groups.setdefault(a.idea, []).append(a)
    order = sorted(groups, key=lambda idea: (idea not in first, groups[idea][0].child.id))
    lines = []
    for idea in order[:limit]:
        tries = groups[idea]
        ok = [a for a in tries if a.child.correct]
        label = f"[{idea}]" if idea in menu_ids else f'"{plan_title(tries[0].child.plan)}"'
        head = f"- {label}: {len(tries)} {'try' if len(tries) == 1 else 'tries'}, {len(ok)} correct"
        if ok:
            best = min(ok, key=lambda a: a.child.latency_us)
            head += f"; best #{best.child.id} (from #{best.parent.id if best.parent else '?'}): " \
                    f"{result_text(best.child, best.parent)}"
        failed = [a for a in tries if not a.child.correct]
        if failed:
            last = failed[-1]
            head += f"; failed #{last.child.id}: {result_text(last.child, last.parent)}"
        lines.append(head)
    return lines
