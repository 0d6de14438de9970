"""The command line's allocator tuning (cli/app.py, mallopt(3)): applied on glibc,
skipped with FORECHECK_MALLOC=system, never fatal where libc has no mallopt; numpy's
huge-page advice turned off where the kernel's defrag policy makes it stall."""

from __future__ import annotations

import ctypes
import sys

import pytest

from forecheck.cli import app


class _Libc:
    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tuning is Linux-only")
def test_mallopt_called_with_mmap_max_arena_max_and_trim_threshold(monkeypatch):
    fake = _Libc()
    monkeypatch.delenv("FORECHECK_MALLOC", raising=False)
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)  # (restored after the test)
    monkeypatch.setattr(ctypes, "CDLL", lambda name: fake)
    app._tune_allocator()
    # M_MMAP_MAX, M_ARENA_MAX, M_TRIM_THRESHOLD (<malloc.h>: -4, -8, -1)
    assert fake.calls == [(-4, 0), (-8, 1), (-1, 512 * 2**20)]


def test_system_allocator_on_request(monkeypatch):
    fake = _Libc()
    monkeypatch.setenv("FORECHECK_MALLOC", "system")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: fake)
    app._tune_allocator()
    assert fake.calls == []


def test_missing_libc_is_not_fatal(monkeypatch):
    def no_libc(name):
        raise OSError("no libc.so.6")

    monkeypatch.delenv("FORECHECK_MALLOC", raising=False)
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    app._tune_allocator()  # returns quietly


@pytest.mark.parametrize("policy, preset, expected", [
    ("always defer defer+madvise [madvise] never\n", None, "0"),   # the kernel's default: faults stall
    ("always defer [defer+madvise] madvise never\n", None, "0"),
    ("[always] defer defer+madvise madvise never\n", None, None),  # the advice changes nothing
    ("always defer defer+madvise madvise [never]\n", None, None),
    ("always [defer] defer+madvise madvise never\n", None, None),
    ("always defer defer+madvise [madvise] never\n", "1", "1"),    # the user's choice wins
    (None, None, None),                                             # no THP in this kernel
])
def test_numpy_hugepage_advice_follows_the_defrag_policy(tmp_path, monkeypatch, policy, preset, expected):
    """numpy's MADV_HUGEPAGE is turned off (NUMPY_MADVISE_HUGEPAGE=0, read by numpy at
    import) only where the kernel compacts memory synchronously on a fault in an
    advised region (numpy/numpy#31590), and never over a value the user set."""
    path = tmp_path / "defrag"
    if policy is not None:
        path.write_text(policy)
    monkeypatch.setattr(app, "THP_DEFRAG", str(path))
    environ = {} if preset is None else {"NUMPY_MADVISE_HUGEPAGE": preset}
    app._numpy_hugepages(environ)
    assert environ.get("NUMPY_MADVISE_HUGEPAGE") == expected


def test_system_allocator_keeps_numpy_hugepages(monkeypatch):
    monkeypatch.setenv("FORECHECK_MALLOC", "system")
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    monkeypatch.setattr(ctypes, "CDLL", lambda name: _Libc())
    app._tune_allocator()
    import os

    assert "NUMPY_MADVISE_HUGEPAGE" not in os.environ
