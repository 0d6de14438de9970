"""Comparing two reads of one file: the fast read a reader plans and the plain read it
falls back to must give the same load (or the same error)."""

from __future__ import annotations

import dataclasses

import numpy as np

from forecheck.errors import InputError
from forecheck.io import ReadOptions, load


def load_or_error(path: str, options: ReadOptions | None = None):
    """``load([path], options)``, or the InputError it raises."""
    try:
        return load([path], options)
    except InputError as exc:
        return exc


def assert_same_load(a, b) -> None:
    """The same panel, ids, input info and findings, or the same error (text and code)."""
    if isinstance(a, InputError) or isinstance(b, InputError):
        assert type(a) is type(b) and str(a) == str(b) and a.code == b.code
        return
    pa_, pb = a.panel, b.panel
    for name in ("offsets", "time", "p", "outcome", "source_row"):
        np.testing.assert_array_equal(getattr(pa_, name), getattr(pb, name))
    assert list(pa_.ids) == list(pb.ids)
    assert dataclasses.asdict(a.info) == dataclasses.asdict(b.info)
    assert [f.to_dict() for f in a.findings] == [f.to_dict() for f in b.findings]


def fast_and_plain(monkeypatch, path: str, options: ReadOptions | None, *, spy: str, wrap, plan: str):
    """(the load with ``readers.<spy>`` replaced by ``wrap(original)``, the load with
    ``readers.<plan>`` planning nothing, i.e. the plain read)."""
    from forecheck.io import readers

    with monkeypatch.context() as m:
        m.setattr(readers, spy, wrap(getattr(readers, spy)))
        fast = load_or_error(path, options)
    with monkeypatch.context() as m:
        m.setattr(readers, plan, lambda *a: None)
        plain = load_or_error(path, options)
    return fast, plain
