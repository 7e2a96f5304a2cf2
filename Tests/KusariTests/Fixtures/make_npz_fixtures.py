#!/usr/bin/env python3
"""Regenerates the tiny NumPy-written fixtures read by NPZTests.swift.

Run from anywhere: python3 make_npz_fixtures.py  (needs numpy; files land beside this script).
The values are mirrored by hand in NPZTests.swift, so keep the two in step.
"""
import base64
import io
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def members():
    # Insertion order matters: the tests check that the archive keeps it.
    return dict(
        weights=(np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1.0),  # float32 (2, 3)
        step=np.array(7, dtype=np.int64),                                     # 0-d int64
        labels=np.array([3, -1, 2], dtype=np.int32),
        mask=np.array([True, False, True]),
        pixels=np.array([[0, 255], [17, 128]], dtype=np.uint8),
        scale=np.array([1.5, -2.25], dtype=np.float64),
        empty=np.zeros((0,), dtype=np.float32),
    )


def write_archive_as_base64(name, save):
    """Zip archives are stored as base64 text (`NAME.npz.base64`): the repository keeps no data
    files; the tests decode the exact bytes NumPy wrote."""
    buffer = io.BytesIO()
    save(buffer, **members())
    encoded = base64.encodebytes(buffer.getvalue()).decode("ascii")
    with open(path(name + ".npz.base64"), "w") as handle:
        handle.write(encoded)


def main():
    write_archive_as_base64("savez", np.savez)
    write_archive_as_base64("savez_compressed", np.savez_compressed)

    np.save(path("float32_2x3.npy"), members()["weights"])
    np.save(path("float64.npy"), np.array([0.1, -2.5, 1e300], dtype=np.float64))
    np.save(path("int64.npy"), np.array([[-(2**62), -1, 0], [1, 2**40, 2**63 - 1]], dtype=np.int64))
    np.save(path("scalar0d.npy"), np.array(3.5, dtype=np.float32))
    np.save(path("bigendian_f4.npy"), (np.arange(6).reshape(2, 3) / 4).astype(">f4"))
    np.save(path("bigendian_i8.npy"), np.array([1, -2, 2**40], dtype=">i8"))
    # Half precision: 65504 is float16's largest finite value, 2**-24 its smallest subnormal.
    np.save(path("float16.npy"), np.array([[1, -2.5, 65504], [2**-24, 0.1, -np.inf]], dtype=np.float16))
    np.save(path("bigendian_f2.npy"), np.array([0.5, -3, 1024], dtype=">f2"))
    # A Fortran-ordered (column-major) array is saved with fortran_order: True.
    np.save(path("fortran.npy"), np.asfortranarray(np.arange(24, dtype=np.int32).reshape(2, 3, 4)))
    for major in (2, 3):
        with open(path(f"version{major}.npy"), "wb") as f:
            np.lib.format.write_array(f, np.array([1.0, 2.0], dtype=np.float32), version=(major, 0))


if __name__ == "__main__":
    main()
