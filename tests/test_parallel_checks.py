"""Checks on several threads (``--jobs``) report exactly what one thread reports."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from forecheck.checks import CheckContext, all_specs, execute
from forecheck.config import AnalysisConfig
from forecheck.errors import UsageError
from forecheck.simulate.questions import candidates_panel, factor_panel


def _records(panel, jobs):
    results, ctx = execute(panel, AnalysisConfig(jobs=jobs, n_sim=99))
    return [r.to_dict() for r in results], list(ctx.series_columns), ctx


@pytest.mark.parametrize("make", [lambda: factor_panel(60, 25, seed=11, rho=0.2),
                                  lambda: candidates_panel(30, 3, 20, seed=12)])
def test_records_and_series_columns_do_not_depend_on_jobs(make):
    panel = make()
    one, cols_one, ctx_one = _records(panel, 1)
    for jobs in (2, 4):
        many, cols_many, ctx_many = _records(panel, jobs)
        assert many == one  # every field of every record, p-values included (own random streams)
        assert cols_many == cols_one  # the series table's columns in report order
        for name in cols_one:
            np.testing.assert_array_equal(ctx_many.series_columns[name], ctx_one.series_columns[name])


def test_mg106_waits_for_the_pooled_tests_it_reports():
    # MG106 lists each pooled test's own dependence count, written by MG101 and
    # MG103–MG105; on 4 threads it must still see all four (its spec's ``after``).
    panel = factor_panel(60, 25, seed=13, rho=0.1)
    results, _ = execute(panel, AnalysisConfig(jobs=4, n_sim=99))
    mg106 = next(r for r in results if r.code == "MG106")
    assert [f.code for f in mg106.details.by_family] == ["MG101", "MG103", "MG104", "MG105"]
    spec = next(s for s in all_specs() if s.code == "MG106")
    assert set(spec.after) == {"MG101", "MG103", "MG104", "MG105"}


def test_shared_work_is_computed_once_across_threads():
    ctx = CheckContext(panel=factor_panel(5, 5, seed=1, rho=0.0), config=AnalysisConfig())
    calls = []

    def compute():
        calls.append(threading.get_ident())
        time.sleep(0.05)  # long enough for the other threads to arrive while it runs
        return object()

    views = [ctx.for_check() for _ in range(4)]
    got = []
    threads = [threading.Thread(target=lambda v=v: got.append(v.cached("k", compute))) for v in views]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(g) for g in got}) == 1
    assert all(v.series_columns is not ctx.series_columns for v in views)  # each check its own columns


@pytest.mark.parametrize("bad", [0, 65, 1.5, True])
def test_jobs_outside_its_range_is_rejected_naming_the_flag(bad):
    with pytest.raises(UsageError, match="--jobs"):
        AnalysisConfig(jobs=bad)


def test_jobs_is_not_part_of_the_reported_config():
    # it changes scheduling, never results: two runs with different --jobs give the same JSON
    assert "jobs" not in AnalysisConfig(jobs=3).to_dict()


def test_a_check_starts_after_the_checks_it_reads_and_does_not_hold_a_thread():
    # B reads A's work (after=("A",)); C is independent. On 2 threads B must start after A
    # has finished, and C must not wait behind B (it runs beside A).
    from forecheck.checks import CheckSpec
    from forecheck.results import Measurement

    log: list[tuple[str, str]] = []
    lock = threading.Lock()

    def runner(code, seconds):
        def run(ctx):
            with lock:
                log.append(("start", code))
            time.sleep(seconds)
            with lock:
                log.append(("end", code))
            return Measurement(statistic=0.0, message=code, test_based=False, status="pass")
        return run

    specs = [CheckSpec("MG101", "a", "MG", "info", runner("MG101", 0.2)),
             CheckSpec("MG102", "b", "MG", "info", runner("MG102", 0.0), after=("MG101",)),
             CheckSpec("MG103", "c", "MG", "info", runner("MG103", 0.0))]
    results, _ = execute(factor_panel(5, 5, seed=2, rho=0.0), AnalysisConfig(jobs=2), specs=specs)
    assert [r.code for r in results] == ["MG101", "MG102", "MG103"]  # report order kept
    assert log.index(("end", "MG101")) < log.index(("start", "MG102"))
    assert log.index(("start", "MG103")) < log.index(("end", "MG101"))


def test_a_check_waiting_for_a_later_check_is_a_registry_error_not_a_hang():
    from forecheck.checks import CheckSpec
    from forecheck.results import Measurement

    def run(ctx):
        return Measurement(statistic=0.0, message="x", test_based=False, status="pass")

    specs = [CheckSpec("MG101", "a", "MG", "info", run, after=("MG102",)),
             CheckSpec("MG102", "b", "MG", "info", run, after=("MG101",))]
    with pytest.raises(RuntimeError, match="wait for later checks"):
        execute(factor_panel(5, 5, seed=2, rho=0.0), AnalysisConfig(jobs=2), specs=specs)


def test_every_after_in_the_registry_names_an_earlier_check():
    codes = [s.code for s in all_specs()]
    for i, spec in enumerate(all_specs()):
        assert all(c in codes[:i] for c in spec.after), spec.code


def test_numbers_do_not_depend_on_the_blas_thread_count(tmp_path):
    # a threaded BLAS splits each product's sum by its thread count: on 2,000 jump series
    # × 30 steps CA204's statistic differed in the last digits between OPENBLAS_NUM_THREADS=1
    # and 2 before the checks ran BLAS on one thread (checks.one_blas_thread)
    import os
    import subprocess
    import sys

    data = tmp_path / "jump.csv"
    subprocess.run([sys.executable, "-m", "forecheck", "simulate", "jump", "--series", "2000", "--steps", "30",
                    "--seed", "2", "-o", str(data)], check=True, capture_output=True)
    out = []
    for threads in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
        p = subprocess.run([sys.executable, "-m", "forecheck", "analyze", str(data), "--format", "json",
                            "--no-progress", "--select", "CA204,MG103,MG104"], capture_output=True, text=True,
                           env=env)
        assert p.returncode in (0, 1), p.stderr
        out.append(p.stdout)
    assert '"CA204"' in out[0] and out[0] == out[1]


def test_blas_runs_on_one_thread_while_the_checks_run():
    from threadpoolctl import threadpool_info

    from forecheck.checks import one_blas_thread

    with one_blas_thread():
        assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
