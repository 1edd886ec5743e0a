"""An instruction trace as a file of plain data: what the sandboxed worker hands the parent to measure.

The file is an uncompressed ``.npz`` (a zip of ``.npy`` arrays) read with ``allow_pickle=False``:

- ``header``: UTF-8 JSON: format, version, the trace's scalar fields, files and warnings, the string
  table, the distinct ``attrs`` key sets and the distinct ``attrs`` values (tuples as JSON lists,
  lists and dicts tagged, so every value comes back with its type);
- ``i_*``: one column per instruction field (``i_attrs``: its key set, -1 for none); ``a_*``: one per
  operand access, every instruction's destinations first, then every instruction's sources;
  ``t_*``: tensors; ``l_*``: loop frames; ``v_ids``: each attrs value's index in the value table;
- ``p_len``/``p_flat`` and ``s_len``/``s_flat``: the distinct access patterns and tensor shapes.

Strings (opcodes, engines, dtypes, names, ...) are indices into the string table, integer columns
use the narrowest dtype that holds them, and equal patterns, shapes and attrs values are stored once,
so 10^5 instructions take about 13 MB. Nothing in the file is code: decoding builds ``Trace`` objects
from ints, floats, strings and tuples only, and refuses a file that is over the caps, malformed or of
another version with :class:`TraceFileError`. ``decode(encode(t))`` equals ``t`` field for field, so the
cost model gives the same profile.
"""

from __future__ import annotations

import io
import json
import marshal
import zipfile
from itertools import chain, islice, repeat
from operator import attrgetter, is_
from pathlib import Path

import numpy as np

from autocomp.nki.runtime import cyclic_gc_paused
from autocomp.nki.trace import Access, Instruction, LoopFrame, TensorInfo, Trace

FORMAT = "autocomp-trace"
VERSION = 1
# Caps that keep a hostile file from costing the parent gigabytes: 10x the 10^5 instructions of the kernel
# benchmarks/cost_speed.py traces (12.6 MB), with room for the operands, tensors and loop frames such a trace
# has (there: 2.3 accesses per instruction, 0.7 tensors, 0.3 loop frames).
MAX_INSTRUCTIONS = 1_000_000
MAX_RECORDS_PER_INSTRUCTION = {"a_tensor": 4, "t_id": 1, "l_parent": 1}  # accesses, tensors, loop frames
MAX_BYTES = 192 << 20
MAX_HEADER_BYTES = 64 << 20

_INSTRUCTION_COLUMNS = ("i_seq", "i_opcode", "i_engine", "i_api", "i_partitions", "i_elems", "i_attrs", "i_loc",
                        "i_line", "i_loop", "i_instance", "i_ndst", "i_nsrc")
_ACCESS_COLUMNS = ("a_tensor", "a_buffer", "a_dtype", "a_itemsize", "a_pstart", "a_partitions", "a_pstride",
                   "a_offset", "a_pattern", "a_indirect")
_TENSOR_COLUMNS = ("t_id", "t_name", "t_buffer", "t_shape", "t_dtype", "t_itemsize", "t_partitions", "t_bpp",
                   "t_blocks", "t_has_address", "t_address_p", "t_address_off", "t_kind", "t_created", "t_loop")
_LOOP_COLUMNS = ("l_parent", "l_id", "l_kind", "l_iteration", "l_trip")
_TABLE_COLUMNS = ("p_len", "p_flat", "s_len", "s_flat", "v_ids")
COLUMNS = frozenset(("header",) + _INSTRUCTION_COLUMNS + _ACCESS_COLUMNS + _TENSOR_COLUMNS + _LOOP_COLUMNS
                    + _TABLE_COLUMNS)


_RECORD_NAMES = {"a_tensor": "operand accesses", "t_id": "tensors", "l_parent": "loop frames"}


class TraceFileError(ValueError):
    """A trace file that is not a well-formed trace of this version (or exceeds the size caps)."""


# --------------------------------------------------------------------------- encoding
_INT_DTYPES = (np.int8, np.int16, np.int32, np.int64)


def _narrow(arr: np.ndarray) -> np.ndarray:
    """``arr`` (int64) as the narrowest signed integer array that holds its values."""
    if arr.size == 0:
        return arr.astype(np.int8)
    lo, hi = int(arr.min()), int(arr.max())
    for dt in _INT_DTYPES[:-1]:
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return arr.astype(dt)
    return arr


def _ints(values, count: int) -> np.ndarray:
    try:
        return _narrow(np.fromiter(values, dtype=np.int64, count=count))
    except (TypeError, ValueError, OverflowError) as e:
        raise TraceFileError(f"a trace field that must be an integer is not: {e}") from None


def _field(objs: list, name: str) -> np.ndarray:
    return _ints(map(attrgetter(name), objs), len(objs))


def _flags(objs: list, name: str) -> np.ndarray:
    return np.fromiter(map(bool, map(attrgetter(name), objs)), dtype=np.bool_, count=len(objs))


_NO_ATTRS: dict = {}


class _Strings:
    """The string table: each distinct string once, referred to by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.table: list[str] = []

    def column(self, values: list) -> np.ndarray:
        new = [v for v in dict.fromkeys(values) if v not in self.index]
        if not all(type(v) is str for v in new):
            raise TraceFileError("a trace field that must be a string holds something else")
        self.index.update(zip(new, range(len(self.table), len(self.table) + len(new))))
        self.table.extend(new)
        return _ints(map(self.index.__getitem__, values), len(values))

    def of(self, objs: list, name: str) -> np.ndarray:
        return self.column(list(map(attrgetter(name), objs)))


_SCALARS = frozenset({type(None), bool, int, float, str})


def _plain(value):
    """An attrs value as JSON with its Python type kept: tuples as lists, lists/dicts tagged, numpy scalars unboxed."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is tuple:
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if kind is list:
        return {"list": [_plain(v) for v in value]}
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise TraceFileError("attrs dict keys must be strings")
        return {"dict": [[k, _plain(v)] for k, v in value.items()]}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    raise TraceFileError(f"attrs value of type {kind.__name__} cannot be stored")


def _value_table(values: list) -> tuple[list, np.ndarray]:
    """The distinct attrs values (as JSON-ready data) and the index of each of ``values`` among them.

    Equal values of different types (1, 1.0, True) must stay apart, so values are told apart by object first
    (shared objects: interned strings, small ints, singletons) and the distinct objects by exact bytes:
    ``marshal``'s for numbers, strings, None and tuples of them (it spells out every type), the JSON of
    their tagged form for anything else.
    """
    ids = list(map(id, values))
    objects = dict(zip(ids, values))  # one entry per distinct object (all alive: the trace holds them)
    index: dict[bytes, int] = {}
    table: list = []
    slot_of: dict[int, int] = {}
    for oid, value in objects.items():
        if _simple(value):  # JSON as it is: tuples come back as tuples
            key, plain = marshal.dumps(value), value
        else:  # tagged (lists, dicts), unboxed (numpy scalars) or refused by _plain
            plain = _plain(value)
            key = b"json:" + json.dumps(plain).encode()
        slot = index.get(key)
        if slot is None:
            slot = index[key] = len(table)
            table.append(plain)
        slot_of[oid] = slot
    return table, _ints(map(slot_of.__getitem__, ids), len(ids))


def _simple(value) -> bool:
    """None, a bool, int, float or str, or a tuple of such values (nested)."""
    kind = type(value)
    return kind in _SCALARS or (kind is tuple and all(map(_simple, value)))


def _tables(rows: list[tuple], width: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Distinct tuples of ints (patterns of (stride, count) pairs, shapes) -> index, lengths, flat data."""
    index = {row: i for i, row in enumerate(dict.fromkeys(rows))}
    distinct = list(index)
    lengths = _ints(map(len, distinct), len(distinct))
    if width == 2:
        flat = [x for row in distinct for pair in row for x in pair]
    else:
        flat = [x for row in distinct for x in row]
    return index, lengths, _ints(flat, len(flat))


def encode(trace: Trace) -> bytes:
    """The trace as ``.npz`` bytes (see the module docstring)."""
    with cyclic_gc_paused():
        return _encode(trace)


def _encode(trace: Trace) -> bytes:
    strings = _Strings()
    instrs = trace.instructions
    n = len(instrs)
    cols: dict[str, np.ndarray] = {
        "i_seq": _field(instrs, "seq"), "i_opcode": strings.of(instrs, "opcode"),
        "i_engine": strings.of(instrs, "engine"), "i_api": strings.of(instrs, "api"),
        "i_partitions": _field(instrs, "partitions"), "i_elems": _field(instrs, "elems"),
        "i_loc": _field(instrs, "loc"), "i_line": _field(instrs, "line"), "i_loop": _field(instrs, "loop"),
        "i_instance": _field(instrs, "instance")}
    dsts = list(map(attrgetter("dst"), instrs))
    srcs = list(map(attrgetter("src"), instrs))
    cols["i_ndst"] = _ints(map(len, dsts), n)
    cols["i_nsrc"] = _ints(map(len, srcs), n)
    accs = list(chain.from_iterable(dsts)) + list(chain.from_iterable(srcs))  # every destination, then every source
    pattern_rows = list(map(attrgetter("pattern"), accs))
    pattern_index, cols["p_len"], cols["p_flat"] = _tables(pattern_rows, 2)
    cols.update({
        "a_tensor": _field(accs, "tensor"), "a_buffer": strings.of(accs, "buffer"),
        "a_dtype": strings.of(accs, "dtype"), "a_itemsize": _field(accs, "itemsize"),
        "a_pstart": _field(accs, "partition_start"), "a_partitions": _field(accs, "partitions"),
        "a_pstride": _field(accs, "partition_stride"), "a_offset": _field(accs, "offset"),
        "a_pattern": _ints(map(pattern_index.__getitem__, pattern_rows), len(accs)),
        "a_indirect": _flags(accs, "indirect")})
    # attrs: each instruction's key set (interned) and the index of each value in a table of distinct values.
    attrs = list(map(attrgetter("attrs"), instrs))
    dicts = [_NO_ATTRS if a is None else a for a in attrs]
    if not all(type(a) is dict for a in dicts):
        raise TraceFileError("instruction attrs must be dicts or None")
    key_rows = list(map(tuple, dicts))
    keysets = {k: i for i, k in enumerate(dict.fromkeys(key_rows))}
    if not all(type(k) is str for ks in keysets for k in ks):
        raise TraceFileError("instruction attrs keys must be strings")
    kids = _ints(map(keysets.__getitem__, key_rows), n).astype(np.int32)
    kids[np.fromiter(map(is_, attrs, repeat(None)), dtype=np.bool_, count=n)] = -1
    cols["i_attrs"] = _narrow(kids.astype(np.int64))
    value_table, cols["v_ids"] = _value_table(list(chain.from_iterable(map(dict.values, dicts))))
    tensors = list(trace.tensors.values())
    if list(trace.tensors) != [t.id for t in tensors]:
        raise TraceFileError("a tensor is stored under an id other than its own")
    shape_rows = [tuple(t.shape) for t in tensors]
    shape_index, cols["s_len"], cols["s_flat"] = _tables(shape_rows, 1)
    has_address = [t.address is not None for t in tensors]
    addresses = [t.address if t.address is not None else (0, 0) for t in tensors]
    cols.update({
        "t_id": _field(tensors, "id"), "t_name": strings.of(tensors, "name"), "t_buffer": strings.of(tensors, "buffer"),
        "t_shape": _ints(map(shape_index.__getitem__, shape_rows), len(tensors)),
        "t_dtype": strings.of(tensors, "dtype"), "t_itemsize": _field(tensors, "itemsize"),
        "t_partitions": _field(tensors, "partitions"), "t_bpp": _field(tensors, "bytes_per_partition"),
        "t_blocks": _field(tensors, "block_copies"),
        "t_has_address": np.fromiter(has_address, dtype=np.bool_, count=len(tensors)),
        "t_address_p": _ints((a[0] for a in addresses), len(tensors)),
        "t_address_off": _ints((a[1] for a in addresses), len(tensors)),
        "t_kind": strings.of(tensors, "kind"), "t_created": _field(tensors, "created_seq"),
        "t_loop": _field(tensors, "loop")})
    loops = trace.loops
    cols.update({"l_parent": _field(loops, "parent"), "l_id": _field(loops, "loop_id"),
                 "l_kind": strings.of(loops, "kind"), "l_iteration": _field(loops, "iteration"),
                 "l_trip": _field(loops, "trip_count")})
    header = {"format": FORMAT, "version": VERSION, "kernel": trace.kernel, "dialect": trace.dialect,
              "nki_version": trace.nki_version, "target": trace.target, "grid": list(trace.grid),
              "numerics": bool(trace.numerics),
              "files": list(trace.files), "warnings": list(trace.warnings), "spill_bytes": trace.spill_bytes,
              "sbuf_peak": trace.sbuf_peak_bytes_per_partition, "psum_peak": trace.psum_peak_bytes_per_partition,
              "strings": strings.table, "keysets": [list(k) for k in keysets], "values": value_table}
    try:
        text = json.dumps(header, separators=(",", ":"))
    except (TypeError, ValueError) as e:  # an attrs value that is not plain data (bytes, complex, ...)
        raise TraceFileError(f"attrs value cannot be stored: {e}") from None
    cols["header"] = np.frombuffer(text.encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **cols)
    return buf.getvalue()


def write(path: str | Path, trace: Trace) -> int:
    """Write ``trace`` to ``path``; returns the bytes written."""
    data = encode(trace)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


# --------------------------------------------------------------------------- decoding
def _unplain(value):
    if isinstance(value, list):
        return tuple(_unplain(v) for v in value)
    if isinstance(value, dict):
        if set(value) == {"list"} and isinstance(value["list"], list):
            return [_unplain(v) for v in value["list"]]
        if set(value) == {"dict"} and isinstance(value["dict"], list):
            out = {}
            for pair in value["dict"]:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise TraceFileError("malformed attrs dict entry")
                out[pair[0]] = _unplain(pair[1])
            return out
        raise TraceFileError("malformed attrs value")
    return value


def _read_columns(source: str | Path | bytes, max_bytes: int) -> dict[str, np.ndarray]:
    if isinstance(source, (bytes, bytearray)):
        if len(source) > max_bytes:
            raise TraceFileError(f"trace file is {len(source)} bytes, over the {max_bytes}-byte limit")
        fileobj = io.BytesIO(source)
    else:
        path = Path(source)
        if path.is_symlink() or not path.is_file():
            raise TraceFileError(f"{path.name}: missing or not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise TraceFileError(f"{path.name} is {size} bytes, over the {max_bytes}-byte limit")
        fileobj = io.BytesIO(path.read_bytes())
    try:
        with zipfile.ZipFile(fileobj) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            expected = {f"{c}.npy" for c in COLUMNS}
            if len(names) != len(set(names)) or set(names) != expected:
                unknown = sorted(set(names) - expected)[:3]
                missing = sorted(expected - set(names))[:3]
                raise TraceFileError(f"not a trace file of version {VERSION}: unexpected members {unknown}, "
                                     f"missing {missing}")
            if sum(i.file_size for i in infos) > max_bytes:  # a zip bomb stops here, before anything unpacks
                raise TraceFileError(f"trace file unpacks to more than {max_bytes} bytes")
            columns = {}
            for info in infos:
                with zf.open(info) as f:
                    arr = np.lib.format.read_array(f, allow_pickle=False)
                if arr.dtype.kind not in "biu" or arr.ndim != 1:
                    raise TraceFileError(f"column {info.filename} holds {arr.dtype}{list(arr.shape)}, expected a "
                                         "1-d integer array")
                columns[info.filename[:-4]] = arr
            return columns
    except TraceFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise TraceFileError(f"not a trace file: {e}") from None


def _header(raw: np.ndarray) -> dict:
    if raw.dtype != np.uint8 or raw.size > MAX_HEADER_BYTES:
        raise TraceFileError("trace header is not UTF-8 JSON of a sane size")
    try:
        header = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, ValueError):
        raise TraceFileError("trace header is not valid UTF-8 JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TraceFileError("not an autocomp trace file")
    if header.get("version") != VERSION:
        raise TraceFileError(f"trace file version {header.get('version')!r}; this autocomp reads version {VERSION}")
    kinds = {"kernel": str, "dialect": str, "target": str, "grid": list, "numerics": bool, "files": list,
             "warnings": list, "spill_bytes": int, "sbuf_peak": int, "psum_peak": int, "strings": list,
             "keysets": list, "values": list}
    for key, kind in kinds.items():
        if not isinstance(header.get(key), kind) or (kind is int and isinstance(header[key], bool)):
            raise TraceFileError(f"trace header field {key!r} is missing or not a {kind.__name__}")
    if not isinstance(header.get("nki_version", ""), str):
        raise TraceFileError("trace header field 'nki_version' is not a str")
    for key in ("files", "warnings", "strings"):
        if not all(isinstance(x, str) for x in header[key]):
            raise TraceFileError(f"trace header field {key!r} must hold strings only")
    if not all(isinstance(g, int) and not isinstance(g, bool) for g in header["grid"]):
        raise TraceFileError("trace header field 'grid' must hold integers")
    if not all(isinstance(ks, list) and all(isinstance(k, str) for k in ks) for ks in header["keysets"]):
        raise TraceFileError("trace header field 'keysets' must hold lists of strings")
    return header


def _rows(lengths: np.ndarray, flat: np.ndarray, width: int, what: str) -> list[tuple]:
    """The rows of a ragged table of ints: row i has ``lengths[i]`` entries, each ``width`` ints."""
    if lengths.size and int(lengths.min()) < 0:
        raise TraceFileError(f"negative {what} length")
    if int(lengths.sum(dtype=np.int64)) * width != flat.size:
        raise TraceFileError(f"the {what} table's lengths do not match its data")
    it = iter(flat.tolist())
    if width == 2:
        pairs = iter(list(zip(it, it)))
        return [tuple(islice(pairs, n)) for n in lengths.tolist()]
    return [tuple(islice(it, n)) for n in lengths.tolist()]


def _check_index(indices: np.ndarray, size: int, what: str, lowest: int = 0) -> None:
    if indices.size:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < lowest or hi >= size:
            raise TraceFileError(f"{what} index out of range ({lo}..{hi} for {size} entries)")


def _lookup(table: list, indices: np.ndarray, what: str) -> map:
    _check_index(indices, len(table), what)
    return map(table.__getitem__, indices.tolist())


def decode(source: str | Path | bytes, *, max_instructions: int = MAX_INSTRUCTIONS,
           max_bytes: int = MAX_BYTES) -> Trace:
    """Read a trace written by :func:`encode`/:func:`write`; raises TraceFileError for anything else."""
    with cyclic_gc_paused():
        return _decode(source, max_instructions, max_bytes)


def _decode(source: str | Path | bytes, max_instructions: int, max_bytes: int) -> Trace:
    cols = _read_columns(source, max_bytes)
    header = _header(cols["header"])
    n = cols["i_seq"].size
    if n > max_instructions:
        raise TraceFileError(f"trace has {n} instructions, over the limit of {max_instructions}")
    for group in (_INSTRUCTION_COLUMNS, _ACCESS_COLUMNS, _TENSOR_COLUMNS, _LOOP_COLUMNS):
        sizes = {cols[c].size for c in group}
        if len(sizes) != 1:
            raise TraceFileError(f"columns {group[0]}... have different lengths {sorted(sizes)}")
    for column, per in MAX_RECORDS_PER_INSTRUCTION.items():
        if cols[column].size > per * max_instructions:
            raise TraceFileError(f"trace has {cols[column].size} {_RECORD_NAMES[column]}, over the limit of "
                                 f"{per * max_instructions}")
    ndst, nsrc = cols["i_ndst"], cols["i_nsrc"]
    if n and (int(ndst.min()) < 0 or int(nsrc.min()) < 0):
        raise TraceFileError("negative operand count")
    total_dst = int(ndst.sum(dtype=np.int64))
    if total_dst + int(nsrc.sum(dtype=np.int64)) != cols["a_tensor"].size:
        raise TraceFileError("the operand counts do not match the number of accesses")
    strings = header["strings"]

    def text(name: str) -> map:
        return _lookup(strings, cols[name], "string")

    patterns = _rows(cols["p_len"], cols["p_flat"], 2, "pattern")
    accesses = list(map(Access, cols["a_tensor"].tolist(), text("a_buffer"), text("a_dtype"),
                        cols["a_itemsize"].tolist(), cols["a_pstart"].tolist(), cols["a_partitions"].tolist(),
                        cols["a_offset"].tolist(), _lookup(patterns, cols["a_pattern"], "pattern"),
                        cols["a_pstride"].tolist(), cols["a_indirect"].astype(bool).tolist()))
    dst_it, src_it = iter(accesses[:total_dst]), iter(accesses[total_dst:])
    dsts = [tuple(islice(dst_it, k)) for k in ndst.tolist()]
    srcs = [tuple(islice(src_it, k)) for k in nsrc.tolist()]

    keysets = [tuple(k) for k in header["keysets"]]
    kids = cols["i_attrs"]
    _check_index(kids, len(keysets), "attrs key set", lowest=-1)
    widths = np.array([len(k) for k in keysets] + [0], dtype=np.int64)  # index -1: no attrs
    if int(widths[kids].sum()) != cols["v_ids"].size:
        raise TraceFileError("the attrs key sets do not match the number of attrs values")
    values = [_unplain(v) for v in header["values"]]
    value_it = _lookup(values, cols["v_ids"], "attrs value")
    attrs = [dict(zip(keysets[k], islice(value_it, len(keysets[k])))) if k >= 0 else None for k in kids.tolist()]

    instructions = list(map(Instruction, cols["i_seq"].tolist(), text("i_opcode"), text("i_engine"), text("i_api"),
                            dsts, srcs, cols["i_partitions"].tolist(), cols["i_elems"].tolist(), attrs,
                            cols["i_loc"].tolist(), cols["i_line"].tolist(), cols["i_loop"].tolist(),
                            cols["i_instance"].tolist()))
    shapes = _rows(cols["s_len"], cols["s_flat"], 1, "shape")
    addresses = [(p, off) if has else None for has, p, off in zip(
        cols["t_has_address"].astype(bool).tolist(), cols["t_address_p"].tolist(), cols["t_address_off"].tolist())]
    infos = list(map(TensorInfo, cols["t_id"].tolist(), text("t_name"), text("t_buffer"),
                     _lookup(shapes, cols["t_shape"], "shape"), text("t_dtype"), cols["t_itemsize"].tolist(),
                     cols["t_partitions"].tolist(), cols["t_bpp"].tolist(), cols["t_blocks"].tolist(), addresses,
                     text("t_kind"), cols["t_created"].tolist(), cols["t_loop"].tolist()))
    tensors = {t.id: t for t in infos}
    if len(tensors) != len(infos):
        raise TraceFileError("a tensor id appears twice")
    loops = list(map(LoopFrame, cols["l_parent"].tolist(), cols["l_id"].tolist(), text("l_kind"),
                     cols["l_iteration"].tolist(), cols["l_trip"].tolist()))
    trace = Trace(kernel=header["kernel"], dialect=header["dialect"], nki_version=header.get("nki_version", ""),
                  target=header["target"],
                  grid=tuple(header["grid"]), numerics=header["numerics"], instructions=instructions,
                  tensors=tensors, files=[], loops=loops, warnings=list(header["warnings"]),
                  spill_bytes=header["spill_bytes"], sbuf_peak_bytes_per_partition=header["sbuf_peak"],
                  psum_peak_bytes_per_partition=header["psum_peak"])
    for f in header["files"]:
        trace.file_id(f)  # also rebuilds the index the recorder keeps
    return trace


__all__ = ["FORMAT", "MAX_BYTES", "MAX_INSTRUCTIONS", "VERSION", "TraceFileError", "decode", "encode", "write"]
