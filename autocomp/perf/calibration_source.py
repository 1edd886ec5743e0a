"""A calibration file as it travels: its text, the name it had and its content hash.

`autocomp eval` and `autocomp optimize --calibration FILE` read the file once, in the parent, and
validate it there (a bad file is refused before any evaluation). From then on the *text* is what
counts: it goes to the trusted measuring processes (never to a sandboxed worker), its hash keys the
evaluation cache, a run directory keeps a copy, and every estimate names it by ``label``
("trn1.toml sha256:3f2a…"), so a latency always says which cost model produced it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from autocomp.perf.calibration import CalibrationError, CalibrationFile, from_dict

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HASH_CHARS = 12  # of the sha256 in labels: enough to tell two files apart at a glance


@dataclass(frozen=True)
class CalibrationSource:
    """The content of one calibration file and the name it is shown under."""

    name: str  # the file's name when it was read (for people; the hash identifies it)
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def label(self) -> str:
        """How results name this calibration: ``<file name> sha256:<first 12 hex digits>``."""
        return f"{self.name} sha256:{self.sha256[:HASH_CHARS]}"

    def parse(self, where: str | None = None) -> CalibrationFile:
        """The validated file; errors name ``where`` (default: the label) and the key or line."""
        where = where or self.label
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as e:
            raise CalibrationError(f"{where}: not valid TOML: {e}") from None
        cal = from_dict(data, where)
        cal.path = self.label  # what Profile.calibration and summaries report
        return cal

    @property
    def target(self) -> str:
        return self.parse().target

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "text": self.text}

    @classmethod
    def from_mapping(cls, data) -> CalibrationSource:
        if isinstance(data, CalibrationSource):
            return data
        if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not isinstance(data.get("text"), str):
            raise CalibrationError(f"a calibration must be given as {{name, text}} strings, not {type(data).__name__}")
        return cls(name=data["name"], text=data["text"])


def read_calibration_source(path: str | Path) -> CalibrationSource:
    """Read and validate a calibration file (errors name the file and the key or line, and what to do)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise CalibrationError(f"{p}: cannot read the calibration file ({why}); write one with "
                               "`autocomp calibrate`") from None
    source = CalibrationSource(name=p.name, text=text)
    source.parse(str(p))
    return source


def as_source(calibration) -> CalibrationSource | None:
    """A CalibrationSource from a path, a source, its ``to_dict()`` or None."""
    if calibration is None or isinstance(calibration, CalibrationSource):
        return calibration
    if isinstance(calibration, (str, Path)):
        return read_calibration_source(calibration)
    return CalibrationSource.from_mapping(calibration)
