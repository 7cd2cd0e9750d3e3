"""How figures are printed: one place for SI suffixes and byte sizes."""
from __future__ import annotations

_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))
_BINARY = ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def si(value: float, digits: int = 2, space: str = "") -> str:
    """11513626624 -> '11.51G'; below a thousand, the plain number."""
    for scale, suffix in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}f}{space}{suffix}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def binary_bytes(value: float) -> str:
    """102228128 -> '97.5 MiB'."""
    for scale, suffix in _BINARY:
        if value >= scale:
            return f"{value / scale:.1f} {suffix}"
    return f"{value:,.0f} B"
