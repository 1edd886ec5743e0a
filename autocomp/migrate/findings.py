"""What a migration did and what it could not do."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Finding:
    """A construct the rules left unmigrated: where, what, why, and what to write instead."""

    line: int
    construct: str
    why: str
    suggestion: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.construct}: {self.why}; {self.suggestion}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Applied:
    """One application of a rewrite rule."""

    rule: str
    line: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Migration:
    """The result of the rule-based rewrite of one kernel file."""

    source: str  # the original (legacy-dialect) source
    migrated: str  # the rewritten source (current dialect where the rules reached)
    function: str
    applied: list[Applied] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.findings

    def rule_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a in self.applied:
            counts[a.rule] = counts.get(a.rule, 0) + 1
        return counts
