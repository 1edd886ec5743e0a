"""Build simulator traces by hand, so cost-model tests do not depend on the simulator."""

from __future__ import annotations

from autocomp.nki.trace import HBM, PSUM, SBUF, Access, Instruction, TensorInfo, Trace

ITEMSIZE = {"float32": 4, "bfloat16": 2, "float16": 2, "float8_e4m3": 1, "int32": 4, "uint8": 1}


class TraceBuilder:
    """Small constructors for tensors, accesses and instructions of a synthetic Trace."""

    def __init__(self, target: str = "trn1", dialect: str = "v1", kernel: str = "synthetic", grid=()):
        self.trace = Trace(kernel=kernel, dialect=dialect, target=target, grid=tuple(grid), numerics=False)
        self.trace.file_id("kernel.py")
        self._next = 1
        self.instance = 0

    # Tensors ---------------------------------------------------------------
    def tensor(self, shape, dtype: str = "bfloat16", buffer: str = SBUF, blocks: int = 1, name: str = "t",
               kind: str = "internal") -> int:
        """Register a tensor. On-chip: shape (P, F...) per block; ``blocks`` v1 block copies."""
        tid = self._next
        self._next += 1
        item = ITEMSIZE[dtype]
        free = 1
        for s in shape[1:]:
            free *= s
        per_partition = free * item if buffer != HBM else free * item * shape[0]
        self.trace.tensors[tid] = TensorInfo(tid, name, buffer, tuple(shape), dtype, item, shape[0],
                                             per_partition, block_copies=blocks, kind=kind)
        return tid

    def sbuf(self, p: int, f: int, dtype: str = "bfloat16", blocks: int = 1) -> int:
        return self.tensor((p, f), dtype, SBUF, blocks)

    def psum(self, p: int, f: int, dtype: str = "float32") -> int:
        return self.tensor((p, f), dtype, PSUM)

    def hbm(self, rows: int, cols: int, dtype: str = "bfloat16", kind: str = "input") -> int:
        """A kernel argument (``kind="input"``) or returned tensor (``"output"``) in HBM."""
        return self.tensor((rows, cols), dtype, HBM, kind=kind)

    # Accesses --------------------------------------------------------------
    def on(self, tid: int, p: int | None = None, f: int | None = None, p0: int = 0, offset: int = 0,
           stride: int = 1) -> Access:
        """A [p, f] region of an on-chip tensor, starting at element ``offset`` of each partition."""
        info = self.trace.tensors[tid]
        p = info.partitions if p is None else p
        f = info.bytes_per_partition // info.itemsize if f is None else f
        return Access(tid, info.buffer, info.dtype, info.itemsize, p0, p, offset, ((stride, f),))

    def rows(self, tid: int, r0: int, nrows: int, c0: int, ncols: int, col_stride: int = 1) -> Access:
        """rows [r0, r0+nrows) x cols [c0, c0+ncols) of a 2-D HBM tensor."""
        info = self.trace.tensors[tid]
        width = info.shape[1]
        return Access(tid, HBM, info.dtype, info.itemsize, 0, nrows, r0 * width + c0, ((col_stride, ncols),),
                      partition_stride=width)

    # Instructions ----------------------------------------------------------
    def add(self, opcode: str, engine: str, dst, src, partitions: int, elems: int, attrs=None, api: str = "",
            line: int = 1) -> Instruction:
        tr = self.trace
        ins = Instruction(len(tr.instructions), opcode, engine, api or opcode.lower(), tuple(dst), tuple(src),
                          partitions, elems, attrs or {}, 0, line, 0, self.instance)
        tr.instructions.append(ins)
        return ins

    def dma(self, dst: Access, src: Access, **attrs) -> Instruction:
        on_chip = dst if dst.buffer != HBM else src
        base = {"queue": "sp", "dge": "none", "transpose": False, "cast": False}
        base.update(attrs)
        return self.add("DMA", "dma", [dst], [src], on_chip.partitions, on_chip.free_elems, base, "nl.load")

    def matmul(self, dst: Access, stationary: Access, moving: Access, accumulate: bool = False, fp32: bool = False,
               key=None, **extra) -> Instruction:
        m, n = stationary.free_elems, moving.free_elems
        attrs = {"stationary_elems": m, "moving_elems": n, "contract": stationary.partitions, "fp32": fp32,
                 "accumulate": accumulate, "perf_mode": None, "onezero": False, "transpose": False,
                 "stationary_key": key if key is not None else (stationary.tensor, stationary.offset),
                 "dtype": moving.dtype}
        attrs.update(extra)
        return self.add("MATMUL", "pe", [dst], [stationary, moving], m, n, attrs, "nisa.nc_matmul")

    def pe_transpose(self, dst: Access, src: Access) -> Instruction:
        attrs = {"transpose": True, "stationary_elems": src.free_elems, "moving_elems": src.partitions,
                 "contract": src.partitions, "fp32": src.dtype == "float32", "accumulate": False,
                 "stationary_key": None, "perf_mode": None, "onezero": True, "dtype": src.dtype}
        return self.add("TRANSPOSE", "pe", [dst], [src], src.partitions, src.free_elems, attrs, "nisa.nc_transpose")

    def op(self, opcode: str, engine: str, dst: Access, *src: Access, **attrs) -> Instruction:
        """A generic compute instruction; N = the destination's free size."""
        return self.add(opcode, engine, [dst], list(src), dst.partitions, dst.free_elems, attrs)
