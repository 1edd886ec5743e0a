"""One tile-wise scale of a [N, D] tensor in the current dialect: unrolled, and as a device loop
(whose body buffers the compiler allocates once, so its iterations cannot overlap)."""

import nki
import nki.isa as nisa
import nki.language as nl


@nki.jit
def scale_unrolled(a):
    n, d = a.shape
    out = nl.ndarray((n, d), dtype=a.dtype, buffer=nl.shared_hbm)
    for i in range(n // 128):
        t = nl.ndarray((128, d), dtype=a.dtype)
        nisa.dma_copy(dst=t, src=a[i * 128:(i + 1) * 128])
        nisa.tensor_scalar(dst=t, data=t, op0=nl.multiply, operand0=2.0)
        nisa.dma_copy(dst=out[i * 128:(i + 1) * 128], src=t)
    return out


@nki.jit
def scale_device_loop(a):
    n, d = a.shape
    out = nl.ndarray((n, d), dtype=a.dtype, buffer=nl.shared_hbm)
    def body(i):  # a loop on the device (NKI 0.7: nl.fori_loop; nl.dynamic_range was removed)
        t = nl.ndarray((128, d), dtype=a.dtype)
        nisa.dma_copy(dst=t, src=a.ap([[d, 128], [1, d]], scalar_offset=i * 128))
        nisa.tensor_scalar(dst=t, data=t, op0=nl.multiply, operand0=2.0)
        nisa.dma_copy(dst=out.ap([[d, 128], [1, d]], scalar_offset=i * 128), src=t)

    nl.fori_loop(0, n // 128, body)
    return out
