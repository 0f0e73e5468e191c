"""Tiny CIFAR files in the official layout: Python 2 cPickle protocol 2, as the archives hold."""

from __future__ import annotations

import struct

import numpy as np


def _str(data: bytes) -> bytes:
    """A Python 2 `str` as cPickle protocol 2 writes it."""
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data
    return b"T" + struct.pack("<i", len(data)) + data


def _int(value: int) -> bytes:
    return b"K" + bytes([value]) if value < 256 else b"M" + struct.pack("<H", value)


def _uint8_array(array: np.ndarray) -> bytes:
    """A 2-D uint8 array as numpy pickled it under Python 2."""
    dtype = (
        b"cnumpy\ndtype\n" + _str(b"u1") + _int(0) + _int(1) + b"\x87R("
        + _int(3) + _str(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff" + _int(0) + b"tb"
    )  # fmt: skip
    shape = _int(array.shape[0]) + _int(array.shape[1]) + b"\x86"
    return (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + _int(0) + b"\x85"
        + _str(b"b") + b"\x87R(" + _int(1) + shape + dtype + b"\x89"
        + _str(array.tobytes()) + b"tb"
    )  # fmt: skip


def _value(value: object) -> bytes:
    """The protocol-2 opcodes of a dict, list, str (bytes), int or uint8 array."""
    if isinstance(value, bytes):
        return _str(value)
    if isinstance(value, int):
        return _int(value)
    if isinstance(value, np.ndarray):
        return _uint8_array(value)
    if isinstance(value, list):
        return b"](" + b"".join(_value(v) for v in value) + b"e"
    if isinstance(value, dict):
        return b"}(" + b"".join(_value(k) + _value(v) for k, v in value.items()) + b"u"
    raise TypeError(f"cannot write {value!r}")


def py2_pickle(value: object) -> bytes:
    """`value` as a Python 2 program's ``cPickle.dump(value, f, 2)`` writes it."""
    return b"\x80\x02" + _value(value) + b"."


def cifar10_batch(data: np.ndarray, labels: np.ndarray) -> bytes:
    """A batch dict {b'data': uint8 (N, 3072), b'labels': [int]} in protocol 2."""
    return py2_pickle({b"data": data, b"labels": [int(label) for label in labels]})
