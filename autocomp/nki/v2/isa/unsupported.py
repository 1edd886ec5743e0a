"""ISA calls the v2 dialect documents but the simulator does not model: each raises err_unsupported_operation."""

from __future__ import annotations

from autocomp.nki.errors import raise_error


def _unsupported(name: str, why: str):
    def fn(*args, **kwargs):
        raise_error("err_unsupported_operation", f"nisa.{name} is not simulated: {why}")
    fn.__name__ = name
    fn.__doc__ = f"Not simulated: {why}"
    return fn


nc_matmul_mx = _unsupported("nc_matmul_mx", "MX matmuls (NeuronCore-v4) are not modelled yet")
quantize_mx = _unsupported("quantize_mx", "MX quantisation (NeuronCore-v4) is not modelled yet")
exponential = _unsupported("exponential", "the NeuronCore-v4 Vector-engine exponential is not modelled yet; use "
                                          "nisa.activation(op=nl.exp)")
activate2 = _unsupported("activate2", "the NeuronCore-v4 activate2 instruction is not modelled yet")
tensor_scalar_cumulative = _unsupported("tensor_scalar_cumulative", "use nisa.tensor_tensor_scan")
core_barrier = _unsupported("core_barrier", "LNC instances run one after the other in the simulator, so a "
                                            "cross-core barrier cannot be honoured")
sendrecv = _unsupported("sendrecv", "LNC instances run one after the other in the simulator")
nonzero_with_count = _unsupported("nonzero_with_count", "not modelled yet")
rand2 = _unsupported("rand2", "not modelled yet; use nisa.rng")
rand_set_state = _unsupported("rand_set_state", "not modelled yet; use nisa.set_rng_seed")
rand_get_state = _unsupported("rand_get_state", "not modelled yet")
