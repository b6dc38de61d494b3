"""Distinct counts with bounded memory: exact up to ``limit`` values, then a HyperLogLog.

A set of up to ``limit`` strings counts exactly. Past that the set is folded into a
HyperLogLog of 2^12 one-byte registers (4 KiB, standard error 1.04/sqrt(4096) = 1.6 %), so
a window's memory is the same for a thousand or a million users. Registers merge by taking
the maximum, which is how the 60 one-second buckets of a minute and the buckets of several
processes are combined. Hashes are BLAKE2b (stable across processes, unlike ``hash``).
"""

import hashlib
import math
from collections.abc import Iterable

import numpy as np

P = 12
M = 1 << P
ALPHA = 0.7213 / (1 + 1.079 / M)
DEFAULT_LIMIT = 4096


def _hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big")


def _registers(values: Iterable[str]) -> np.ndarray:
    registers = np.zeros(M, dtype=np.uint8)
    for value in values:
        _add(registers, _hash(value))
    return registers


def _add(registers: np.ndarray, hashed: int) -> None:
    index = hashed >> (64 - P)
    rest = hashed & ((1 << (64 - P)) - 1)
    rank = (64 - P) - rest.bit_length() + 1
    if rank > registers[index]:
        registers[index] = rank


def estimate(registers: np.ndarray) -> int:
    total = float(np.sum(np.ldexp(1.0, -registers.astype(np.int32))))
    raw = ALPHA * M * M / total
    zeros = int(np.count_nonzero(registers == 0))
    if raw <= 2.5 * M and zeros:
        return round(M * math.log(M / zeros))  # linear counting for small ranges
    return round(raw)


class Distinct:
    __slots__ = ("exact", "limit", "registers")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.exact: set[str] | None = set()
        self.registers: np.ndarray | None = None

    def add(self, value: str) -> None:
        if self.exact is not None:
            self.exact.add(value)
            if len(self.exact) > self.limit:
                self.registers = _registers(self.exact)
                self.exact = None
        else:
            assert self.registers is not None
            _add(self.registers, _hash(value))

    def count(self) -> int:
        if self.exact is not None:
            return len(self.exact)
        assert self.registers is not None
        return estimate(self.registers)

    @property
    def is_exact(self) -> bool:
        return self.exact is not None

    def sketch(self) -> np.ndarray:
        if self.registers is not None:
            return self.registers
        return _registers(self.exact or ())


def union_count(parts: list[Distinct], limit: int = DEFAULT_LIMIT) -> tuple[int, bool]:
    """Distinct values over ``parts``: (count, exact?)."""
    # Exact while the union can fit (a quick bound first: the sizes' sum).
    if all(part.exact is not None for part in parts) and (
        sum(len(part.exact or ()) for part in parts) <= limit * 4
    ):
        merged: set[str] = set()
        for part in parts:
            merged |= part.exact or set()
        if len(merged) <= limit:
            return len(merged), True
    if not parts:
        return 0, True
    registers = np.maximum.reduce([part.sketch() for part in parts])
    return estimate(registers), False


def to_wire(part: Distinct) -> list[str] | bytes:
    """Exact values, or the registers (for another process to merge)."""
    return sorted(part.exact) if part.exact is not None else part.sketch().tobytes()


def from_wire(value: list[str] | bytes, limit: int = DEFAULT_LIMIT) -> Distinct:
    part = Distinct(limit)
    if isinstance(value, bytes | bytearray):
        part.exact = None
        part.registers = np.frombuffer(value, dtype=np.uint8).copy()
    else:
        part.exact = set(value)
    return part


def union_sketch(parts: list[Distinct], limit: int = DEFAULT_LIMIT) -> Distinct:
    """One ``Distinct`` holding the union of ``parts`` (exact while it fits)."""
    merged = Distinct(limit)
    if all(part.exact is not None for part in parts):
        values: set[str] = set()
        for part in parts:
            values |= part.exact or set()
        if len(values) <= limit:
            merged.exact = values
            return merged
    merged.exact = None
    merged.registers = np.maximum.reduce([part.sketch() for part in parts])
    return merged
