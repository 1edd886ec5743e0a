"""Matrix multiplication kernels, the ways practitioners write them (legacy NKI dialect)."""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def matmul_tiled(lhsT, rhs):
    """out[M, N] = lhsT.T @ rhs; K rides the partitions and accumulates in one PSUM tile."""
    K, M = lhsT.shape
    _, N = rhs.shape
    TK = nl.tile_size.pmax
    TM = nl.tile_size.gemm_stationary_fmax
    TN = nl.tile_size.gemm_moving_fmax
    out = nl.ndarray((M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for m in nl.affine_range(M // TM):
        for n in nl.affine_range(N // TN):
            acc = nl.zeros((TM, TN), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // TK):
                a = nl.load(lhsT[k * TK:(k + 1) * TK, m * TM:(m + 1) * TM])
                b = nl.load(rhs[k * TK:(k + 1) * TK, n * TN:(n + 1) * TN])
                acc += nisa.nc_matmul(a, b)
            res = nl.copy(acc, dtype=out.dtype)
            nl.store(out[m * TM:(m + 1) * TM, n * TN:(n + 1) * TN], value=res)
    return out


@nki.jit
def matmul_blocked(lhsT, rhs):
    """Blocked GEMM: a column block of lhsT and a row block of rhs stay resident in SBUF
    (block dimensions in front of par_dim) and every tile pair of the block is reused."""
    K, M = lhsT.shape
    _, N = rhs.shape
    TK, TM, TN = 128, 128, 512
    BM = 2 * TM  # rows of out per block
    KT = K // TK
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    for bm in nl.affine_range(M // BM):
        lhs_blk = nl.ndarray((KT, nl.par_dim(TK), BM), dtype=lhsT.dtype, buffer=nl.sbuf)
        for k in nl.affine_range(KT):
            lhs_blk[k] = nl.load(lhsT[nl.ds(k * TK, TK), nl.ds(bm * BM, BM)])
        for n in nl.affine_range(N // TN):
            rhs_blk = nl.ndarray((KT, nl.par_dim(TK), TN), dtype=rhs.dtype, buffer=nl.sbuf)
            for k in nl.affine_range(KT):
                rhs_blk[k] = nl.load(rhs[nl.ds(k * TK, TK), nl.ds(n * TN, TN)])
            res_blk = nl.ndarray((BM // TM, nl.par_dim(TM), TN), dtype=nl.float32, buffer=nl.sbuf)
            for mi in nl.affine_range(BM // TM):
                acc = nl.zeros((TM, TN), nl.float32, buffer=nl.psum)
                for k in nl.affine_range(KT):
                    acc += nisa.nc_matmul(lhs_blk[k, :, nl.ds(mi * TM, TM)], rhs_blk[k])
                res_blk[mi] = nl.copy(acc)
            for mi in nl.affine_range(BM // TM):
                nl.store(out[nl.ds(bm * BM + mi * TM, TM), nl.ds(n * TN, TN)], value=res_blk[mi])
    return out


def _matmul_row_major(a, b, out, transpose_tile):
    """out = a @ b with a [M, K] row-major: each a tile is turned K-major by ``transpose_tile``."""
    M, K = a.shape
    _, N = b.shape
    for m in nl.affine_range(M // 128):
        for n in nl.affine_range(N // 512):
            acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // 128):
                aT = transpose_tile(a, m, k)
                b_t = nl.load(b[k * 128:(k + 1) * 128, n * 512:(n + 1) * 512])
                acc += nisa.nc_matmul(aT, b_t)
            nl.store(out[m * 128:(m + 1) * 128, n * 512:(n + 1) * 512], value=acc)


def _via_nc_transpose(a, m, k):
    a_t = nl.load(a[m * 128:(m + 1) * 128, k * 128:(k + 1) * 128])
    return nl.copy(nisa.nc_transpose(a_t), dtype=a.dtype)


def _via_nl_transpose(a, m, k):
    a_t = nl.load(a[m * 128:(m + 1) * 128, k * 128:(k + 1) * 128])
    aT = nl.ndarray((128, 128), dtype=a.dtype, buffer=nl.sbuf)
    aT[...] = nl.transpose(a_t)
    return aT


def _via_dma_transpose(a, m, k):
    return nl.load_transpose2d(a[m * 128:(m + 1) * 128, k * 128:(k + 1) * 128])


@nki.jit
def matmul_nc_transpose(a, b):
    out = nl.ndarray((a.shape[0], b.shape[1]), dtype=nl.float32, buffer=nl.shared_hbm)
    _matmul_row_major(a, b, out, _via_nc_transpose)
    return out


@nki.jit
def matmul_nl_transpose(a, b):
    out = nl.ndarray((a.shape[0], b.shape[1]), dtype=nl.float32, buffer=nl.shared_hbm)
    _matmul_row_major(a, b, out, _via_nl_transpose)
    return out


@nki.jit
def matmul_load_transpose2d(a, b):
    out = nl.ndarray((a.shape[0], b.shape[1]), dtype=nl.float32, buffer=nl.shared_hbm)
    _matmul_row_major(a, b, out, _via_dma_transpose)
    return out


@nki.jit
def matmul_nl_matmul(a, b):
    """out = a @ b through nl.matmul(transpose_x=False), which transposes each a tile itself."""
    M, K = a.shape
    _, N = b.shape
    out = nl.ndarray((M, N), dtype=a.dtype, buffer=nl.shared_hbm)
    for m in nl.affine_range(M // 128):
        for n in nl.affine_range(N // 512):
            acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // 128):
                a_t = nl.load(a[m * 128:(m + 1) * 128, k * 128:(k + 1) * 128])
                b_t = nl.load(b[k * 128:(k + 1) * 128, n * 512:(n + 1) * 512])
                acc += nl.matmul(a_t, b_t, transpose_x=False)
            nl.store(out[m * 128:(m + 1) * 128, n * 512:(n + 1) * 512], value=nl.copy(acc, dtype=out.dtype))
    return out


@nki.jit
def matmul_transposed_rhs(a, bT):
    """out = a @ bT.T for bT [N, K] (a linear layer's weight): transpose both operand tiles on the PE."""
    M, K = a.shape
    N, _ = bT.shape
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    for m in nl.affine_range(M // 128):
        for n in nl.affine_range(N // 128):
            acc = nl.zeros((128, 128), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // 128):
                aT = nl.copy(nisa.nc_transpose(nl.load(a[m * 128:(m + 1) * 128, k * 128:(k + 1) * 128])))
                bk = nl.copy(nisa.nc_transpose(nl.load(bT[n * 128:(n + 1) * 128, k * 128:(k + 1) * 128])))
                acc += nl.matmul(aT, bk, transpose_x=True)
            nl.store(out[m * 128:(m + 1) * 128, n * 128:(n + 1) * 128], value=acc)
    return out
