"""numpy's float64 ufunc loops, handed to the compiled kernel so ``exp``, ``pow``, ... give numpy's bits.

numpy computes ``np.exp``, ``np.power`` and the other transcendental ufuncs with its own SIMD code
(SVML on AVX-512), which differs from the C library in the last bit for some arguments. The kernel
calls the very loops numpy calls, on one element at a time: those loops give the same bits for any
array length (checked by the equality tests). The loops are read from the ufunc objects
(``PyUFuncObject.functions``, a stable part of numpy's C API); the layout is checked by the ufunc's
name and argument count before anything is used, else the backend falls back.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import numpy as np

from simulator.engines.fast.kernel.to_c import UFUNCS, Unsupported

__all__ = ["loops", "set_loops"]

_DOUBLE = np.dtype(np.float64).num
# PyUFuncObject: PyObject_HEAD (16 bytes), int nin, nout, nargs, identity; functions; data;
# int ntypes, reserved1; const char *name; const char *types
_NARGS, _FUNCTIONS, _NTYPES, _NAME, _TYPES = 24, 32, 48, 56, 64


def _loop(ufunc) -> int:
    base = id(ufunc)
    nargs = ctypes.c_int.from_address(base + _NARGS).value
    name = ctypes.c_char_p.from_address(base + _NAME).value
    if nargs != ufunc.nargs or name is None or name.decode() != ufunc.__name__:
        raise Unsupported(f"numpy {np.__version__}: unexpected ufunc layout")
    ntypes = ctypes.c_int.from_address(base + _NTYPES).value
    types = ctypes.string_at(ctypes.c_void_p.from_address(base + _TYPES).value, ntypes * nargs)
    functions = ctypes.c_void_p.from_address(base + _FUNCTIONS).value
    for i in range(ntypes):
        if all(code == _DOUBLE for code in types[i * nargs:(i + 1) * nargs]):
            return ctypes.c_void_p.from_address(functions + 8 * i).value
    raise Unsupported(f"numpy {ufunc.__name__} has no float64 loop")


@lru_cache(maxsize=1)
def loops():
    """Pointers to the float64 loops of :data:`~simulator.engines.fast.kernel.to_c.UFUNCS`, in order."""
    return (ctypes.c_void_p * len(UFUNCS))(*[_loop(getattr(np, name)) for name in UFUNCS])


def set_loops(kernel) -> None:
    """Give a freshly loaded kernel library this process's numpy loops."""
    setter = kernel.keep_alive.jsd_set_loops
    setter.argtypes = [ctypes.c_void_p, ctypes.c_long]
    setter.restype = None
    setter(ctypes.cast(loops(), ctypes.c_void_p), len(UFUNCS))
