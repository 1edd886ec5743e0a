"""AdamW step, one [128, TILE_F] tile of each tensor at a time, one instruction per arithmetic step."""

import nki
import nki.isa as nisa
import nki.language as nl

LR = 1e-3
BETA1 = 0.9
BETA2 = 0.999
EPS = 1e-8
WEIGHT_DECAY = 0.01
STEP = 10

P = 128
TILE_F = 512


@nki.jit
def adamw_step(param, grad, exp_avg, exp_avg_sq):
    R, C = param.shape
    assert R % P == 0 and C % TILE_F == 0
    new_param = nl.ndarray((R, C), dtype=param.dtype, buffer=nl.shared_hbm)
    new_m = nl.ndarray((R, C), dtype=param.dtype, buffer=nl.shared_hbm)
    new_v = nl.ndarray((R, C), dtype=param.dtype, buffer=nl.shared_hbm)
    bias1 = 1.0 - BETA1 ** STEP
    bias2 = 1.0 - BETA2 ** STEP

    for r in range(R // P):
        for c in range(C // TILE_F):
            rows = slice(r * P, (r + 1) * P)
            cols = slice(c * TILE_F, (c + 1) * TILE_F)
            p = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            g = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            m = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            v = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            nisa.dma_copy(dst=p, src=param[rows, cols])
            nisa.dma_copy(dst=g, src=grad[rows, cols])
            nisa.dma_copy(dst=m, src=exp_avg[rows, cols])
            nisa.dma_copy(dst=v, src=exp_avg_sq[rows, cols])

            # m' = b1 * m + (1 - b1) * g
            m_new = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            g_scaled = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_scalar(dst=m_new, data=m, op0=nl.multiply, operand0=BETA1)
            nisa.tensor_scalar(dst=g_scaled, data=g, op0=nl.multiply, operand0=1.0 - BETA1)
            nisa.tensor_tensor(dst=m_new, data1=m_new, data2=g_scaled, op=nl.add)

            # v' = b2 * v + (1 - b2) * g^2
            v_new = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            g_sq = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=g_sq, data1=g, data2=g, op=nl.multiply)
            nisa.tensor_scalar(dst=g_sq, data=g_sq, op0=nl.multiply, operand0=1.0 - BETA2)
            nisa.tensor_scalar(dst=v_new, data=v, op0=nl.multiply, operand0=BETA2)
            nisa.tensor_tensor(dst=v_new, data1=v_new, data2=g_sq, op=nl.add)

            # update = m' / bias1 / (sqrt(v' / bias2) + eps)
            denom = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_scalar(dst=denom, data=v_new, op0=nl.multiply, operand0=1.0 / bias2)
            nisa.activation(dst=denom, op=nl.sqrt, data=denom)
            nisa.tensor_scalar(dst=denom, data=denom, op0=nl.add, operand0=EPS)
            nisa.reciprocal(dst=denom, data=denom)
            update = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_scalar(dst=update, data=m_new, op0=nl.multiply, operand0=1.0 / bias1)
            nisa.tensor_tensor(dst=update, data1=update, data2=denom, op=nl.multiply)

            # param' = param - lr * (update + wd * param)
            decay = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_scalar(dst=decay, data=p, op0=nl.multiply, operand0=WEIGHT_DECAY)
            nisa.tensor_tensor(dst=update, data1=update, data2=decay, op=nl.add)
            nisa.tensor_scalar(dst=update, data=update, op0=nl.multiply, operand0=LR)
            p_new = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=p_new, data1=p, data2=update, op=nl.subtract)

            nisa.dma_copy(dst=new_param[rows, cols], src=p_new)
            nisa.dma_copy(dst=new_m[rows, cols], src=m_new)
            nisa.dma_copy(dst=new_v[rows, cols], src=v_new)
    return new_param, new_m, new_v
