"""The Vector engine's max8 family: max8, nc_find_index8 and nc_match_replace8."""

from __future__ import annotations

from autocomp.nki.ops import search
from autocomp.nki.v2.calls import dst_tile, isa_call, src_tile

_isa = isa_call("nisa")


@_isa
def max8(dst, src, name=None):
    api = "nisa.max8"
    search.max8(dst_tile(dst, api), src_tile(src, api, "src"), api)


@_isa
def nc_find_index8(dst, data, vals, name=None):
    api = "nisa.nc_find_index8"
    search.nc_find_index8(dst_tile(dst, api), src_tile(data, api, "data"), src_tile(vals, api, "vals"), api)


@_isa
def nc_match_replace8(dst, data, vals, imm, dst_idx=None, name=None):
    api = "nisa.nc_match_replace8"
    search.nc_match_replace8(dst_tile(dst, api), src_tile(data, api, "data"), src_tile(vals, api, "vals"), imm, api,
                            dst_idx=dst_idx)
