"""``nki.simulator``: the compatibility hook ``simulate_kernel(func, args, kwargs, _lnc)`` seen in the wild."""

from __future__ import annotations

from autocomp.nki.v2.top import Kernel

__all__ = ["simulate_kernel", "Kernel"]


def simulate_kernel(func, args=(), kwargs=None, _lnc: int = 1, **_options):
    """Simulate ``func(*args, **kwargs)`` on ``_lnc`` logical cores and return its numpy outputs."""
    k = func if isinstance(func, Kernel) else Kernel(getattr(func, "func", func), grid=getattr(func, "grid", ()))
    if _lnc and int(_lnc) > 1:
        k = k[int(_lnc)]
    return k(*tuple(args), **dict(kwargs or {}))
