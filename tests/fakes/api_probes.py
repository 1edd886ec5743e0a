"""Kernels that call every NKI call the API digest describes with an engine, once per engine it names.

test_search_api_digest.py traces them in the simulator and compares the engines each call's instructions ran on
with the digest's. Inputs: a, b float32 [128, 512].
"""

V1 = '''
import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def probe(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    out2 = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    out3 = nl.ndarray((128, 128), dtype=nl.float32, buffer=nl.shared_hbm)
    x = nl.load(a)
    y = nl.load(b)
    xt = nl.load_transpose2d(a[:, 0:128])
    z = nl.zeros((128, 512), nl.float32, buffer=nl.sbuf)
    ps = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
    ps += nisa.nc_matmul(x[:, 0:128], y)
    c1 = nl.copy(ps, dtype=nl.float32)
    c2 = nl.copy(x)
    t1 = nisa.tensor_copy(x)
    t2 = nisa.tensor_copy(x, engine=nisa.scalar_engine)
    t3 = nisa.tensor_copy(x, engine=nisa.gpsimd_engine)
    m1 = nisa.memset((128, 512), 0.0, nl.float32)
    m2 = nisa.memset((128, 512), 0.0, nl.float32, engine=nisa.gpsimd_engine)
    io = nisa.iota(nl.arange(512)[None, :], dtype=nl.int32)
    mm1 = nl.matmul(x[:, 0:128], y, transpose_x=True)
    mm2 = nl.matmul(xt, y)
    tp1 = nisa.nc_transpose(x[:, 0:128])
    tp2 = nisa.nc_transpose(x[0:32, 0:32], engine=nisa.vector_engine)
    tp3 = nl.transpose(x[:, 0:128])
    r1 = nl.ndarray((128, 1), nl.float32, buffer=nl.sbuf)
    a1 = nisa.activation(nl.exp, x, scale=2.0)
    a2 = nisa.activation_reduce(nl.exp, x, reduce_op=nl.add, reduce_res=r1)
    e = nl.exp(x)
    s1 = nl.add(x, y)
    s2 = nisa.tensor_tensor(x, y, nl.add)
    s3 = nisa.tensor_tensor(x, y, nl.add, engine=nisa.gpsimd_engine)
    s4 = nisa.tensor_scalar(x, nl.multiply, 2.0)
    s5 = nisa.tensor_scalar(x, nl.multiply, 2.0, engine=nisa.scalar_engine)
    s6 = nisa.tensor_scalar(x, nl.multiply, 2.0, engine=nisa.gpsimd_engine)
    s7 = nisa.scalar_tensor_tensor(data=x, op0=nl.multiply, operand0=2.0, op1=nl.add, operand1=y)
    r2 = nl.ndarray((128, 1), nl.float32, buffer=nl.sbuf)
    s8 = nisa.tensor_scalar_reduce(data=x, op0=nl.multiply, operand0=2.0, reduce_op=nl.add, reduce_res=r2)
    s9 = nisa.tensor_reduce(nl.add, x, axis=1)
    s10 = nl.sum(x, axis=1)
    st = nisa.bn_stats(x)
    ag = nisa.bn_aggr(st)
    sc = nisa.tensor_tensor_scan(x, y, 0.0, nl.multiply, nl.add)
    rc = nisa.reciprocal(x)
    w = nl.where(x > 0, x, 0.0)
    pr = nisa.tensor_partition_reduce(nl.add, x)
    i_p = nl.arange(128)[:, None]
    i_f = nl.arange(128)[None, :]
    sel = nisa.affine_select(i_p >= i_f, x[:, 0:128], -1e9)
    nisa.dma_copy(dst=out2, src=c2)
    nl.store(out3, value=nl.add(tp1, sel))
    nl.store(out, value=ps)
    return out, out2, out3
'''

V2 = '''
import nki
import nki.isa as nisa
import nki.language as nl


@nki.jit
def probe(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    x = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.sbuf)
    nisa.dma_copy(dst=x, src=a)
    y = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.sbuf)
    nisa.dma_copy(dst=y, src=b)
    xt = nl.ndarray((128, 128), dtype=nl.float32, buffer=nl.sbuf)
    nisa.dma_transpose(dst=xt, src=a[:, 0:128])
    z = nl.zeros((128, 512), nl.float32)
    t = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.sbuf)
    ps = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.psum)
    nisa.nc_matmul(dst=ps, stationary=x[:, 0:128], moving=y)
    nisa.tensor_copy(dst=t, src=ps)
    nisa.tensor_copy(dst=t, src=x, engine=nisa.scalar_engine)
    nisa.tensor_copy(dst=t, src=x, engine=nisa.gpsimd_engine)
    nisa.memset(dst=t, value=0.0)
    nisa.memset(dst=t, value=0.0, engine=nisa.gpsimd_engine)
    nisa.iota(dst=t, pattern=[[1, 512]], offset=0)
    tp = nl.ndarray((128, 128), dtype=nl.float32, buffer=nl.psum)
    nisa.nc_transpose(dst=tp, data=x[:, 0:128])
    tv = nl.ndarray((32, 32), dtype=nl.float32, buffer=nl.sbuf)
    nisa.nc_transpose(dst=tv, data=x[0:32, 0:32], engine=nisa.vector_engine)
    r = nl.ndarray((128, 1), dtype=nl.float32, buffer=nl.sbuf)
    nisa.activation(dst=t, op=nl.exp, data=x, scale=2.0)
    nisa.activation_reduce(dst=t, op=nl.exp, data=x, reduce_op=nl.add, reduce_res=r)
    nisa.tensor_tensor(dst=t, data1=x, data2=y, op=nl.add)
    nisa.tensor_tensor(dst=t, data1=x, data2=y, op=nl.add, engine=nisa.gpsimd_engine)
    nisa.tensor_scalar(dst=t, data=x, op0=nl.multiply, operand0=2.0)
    nisa.tensor_scalar(dst=t, data=x, op0=nl.multiply, operand0=2.0, engine=nisa.scalar_engine)
    nisa.tensor_scalar(dst=t, data=x, op0=nl.multiply, operand0=2.0, engine=nisa.gpsimd_engine)
    nisa.scalar_tensor_tensor(dst=t, data=x, op0=nl.multiply, operand0=2.0, op1=nl.add, operand1=y)
    nisa.tensor_scalar_reduce(dst=t, data=x, op0=nl.multiply, operand0=2.0, reduce_op=nl.add, reduce_res=r)
    nisa.tensor_reduce(dst=r, op=nl.add, data=x, axis=1, keepdims=True)
    st = nl.ndarray((128, 6), dtype=nl.float32, buffer=nl.sbuf)
    nisa.bn_stats(dst=st, data=x)
    ag = nl.ndarray((128, 2), dtype=nl.float32, buffer=nl.sbuf)
    nisa.bn_aggr(dst=ag, data=st)
    nisa.tensor_tensor_scan(dst=t, data0=x, data1=y, initial=0.0, op0=nl.multiply, op1=nl.add)
    nisa.reciprocal(dst=t, data=x)
    pr = nl.ndarray((1, 512), dtype=nl.float32, buffer=nl.sbuf)
    nisa.tensor_partition_reduce(dst=pr, op=nl.add, data=x)
    sel = nl.ndarray((128, 128), dtype=nl.float32, buffer=nl.sbuf)
    nisa.affine_select(dst=sel, pattern=[[-1, 128]], channel_multiplier=1, on_true_tile=x[:, 0:128],
                       on_false_value=-1e9, cmp_op=nl.greater_equal)
    nisa.dma_copy(dst=out, src=t)
    return out
'''
