"""The command line's allocator tuning (cli/app.py, mallopt(3)): applied on glibc,
skipped with FORECHECK_MALLOC=system, never fatal where libc has no mallopt."""

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
    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    app._tune_allocator()  # returns quietly
