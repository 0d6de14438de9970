"""Engines beyond the in-memory one (``forecheck analyze --engine dask``).

``partials`` turns one partition of whole series (and whole declared questions and
clusters) into additive contributions (no
Dask import: it runs on the workers and in tests); ``combine`` forms the pooled
records from the contributions of every partition; ``dask_engine`` reads the
Parquet input with Dask, shuffles it by the outermost declared grouping (cluster,
question, else series) and drives both. The in-memory
engine never imports this package (docs/performance.md, "Dask engine").
"""
