"""The v1 ISA's max8 family: the 8 largest values per partition, finding and replacing them."""

from __future__ import annotations

from autocomp.nki import dtypes as _dt
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import search as _search
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.v1.isa.common import maybe_operand, result


def max8(*, src, mask=None, dtype=None, **kwargs) -> Tile:
    api = "nisa.max8"
    src = _operand(src, api, "src")
    out = result((src.shape[0], 8), dtype or src.dtype)
    _search.max8(out, src, api, mask=check_mask(mask))
    return out


def nc_find_index8(*, data, vals, mask=None, dtype=None, **kwargs) -> Tile:
    api = "nisa.nc_find_index8"
    data, vals = _operand(data, api, "data"), _operand(vals, api, "vals")
    out = result((data.shape[0], 8), dtype or _dt.uint32)
    _search.nc_find_index8(out, data, vals, api, mask=check_mask(mask))
    return out


def nc_match_replace8(*, data, vals, imm, dst_idx=None, mask=None, dtype=None, **kwargs) -> Tile:
    api = "nisa.nc_match_replace8"
    data, vals = _operand(data, api, "data"), _operand(vals, api, "vals")
    out = result(data.shape, dtype or data.dtype)
    _search.nc_match_replace8(out, data, vals, imm, api, dst_idx=maybe_operand(dst_idx, api, "dst_idx"),
                             mask=check_mask(mask))
    return out
