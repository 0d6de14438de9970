"""Configuration of ``forecheck analyze``: files, ``FORECHECK_*`` variables and precedence.

Every analyze option can live in ``[tool.forecheck]`` of a ``pyproject.toml`` or at the top
level of a ``forecheck.toml`` (keys are the long option names without ``--``, e.g.
``prob-col = "winstate_chal"``). The closest such file up from the working directory is used
(in one directory ``forecheck.toml`` wins over ``pyproject.toml``; a ``pyproject.toml``
without the table is skipped), as ruff does. ``--config PATH`` names the file; ``--isolated``
ignores files and environment variables.

Precedence, per key: command line > ``FORECHECK_<KEY>`` environment variable (upper case,
``-`` as ``_``; lists comma-separated) > file > built-in default. Relative paths in a file
(``outcomes``, ``output``, ``junit-xml``, ``markdown``, ``baseline``) are relative to that
file's directory; on the command line and in variables, to the working directory.

Per-series ignores::

    [[tool.forecheck.overrides]]
    series = ["NE-*", "ME-*"]     # glob patterns (fnmatch) on the series id
    ignore = ["MG102"]            # codes or prefixes

The listed checks then run on the panel without the matching series (every other check
still sees every series).

This module parses and validates only; it does not import the command line layer.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from forecheck.errors import UsageError

ENV_PREFIX = "FORECHECK_"
FILE_NAMES = ("forecheck.toml", "pyproject.toml")


class SettingsError(UsageError):
    """A configuration file, variable or option value that cannot be used (exit code 2)."""


@dataclass(frozen=True)
class Setting:
    """One configurable option. ``key`` is the TOML key and the long option name."""

    key: str
    kind: str  # str | path | int | float | bool | choice | list | floats
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False  # bounds exclusive
    help: str = ""

    @property
    def attr(self) -> str:
        return self.key.replace("-", "_")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper().replace("-", "_")

    def allowed(self) -> str:
        """Human description of the allowed values (for error messages)."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind in ("list", "floats"):
            return "a list of " + ("numbers" if self.kind == "floats" else "strings") + ' (e.g. ["a", "b"])'
        if self.kind in ("int", "float"):
            word = "an integer" if self.kind == "int" else "a number"
            lo, hi = self.minimum, self.maximum
            if lo is not None and hi is not None:
                rel = "strictly between" if self.exclusive else "between"
                return f"{word} {rel} {lo:g} and {hi:g}"
            if lo is not None:
                return f"{word} {'>' if self.exclusive else '>='} {lo:g}"
            return word
        return "a string" if self.kind == "str" else "a file path"


S = Setting
from forecheck.io.options import MAX_BYTES, MAX_COLUMNS, MAX_ROWS  # noqa: E402 (reading limits)

SETTINGS: tuple[Setting, ...] = (
    # reading
    S("layout", "choice", "auto", ("auto", "long", "wide")),
    S("series-col", "list", ()),
    S("time-col", "str"),
    S("prob-col", "str"),
    S("outcome-col", "str"),
    S("outcomes", "path"),
    S("resolved-at-col", "str"),
    S("published-col", "str"),
    S("cluster-col", "str"),
    S("group-by", "str"),
    S("question-col", "str"),
    S("question-detection", "bool", True),
    S("underlying-col", "str"),
    S("na-values", "list", ()),
    S("scale", "choice", "auto", ("auto", "unit", "percent")),
    S("drop-backcast", "bool", False),
    S("input-format", "choice", "auto", ("auto", "csv", "tsv", "parquet")),
    S("stdin-filename", "str"),
    S("min-length", "int", 3, minimum=2),
    S("max-rows", "int", MAX_ROWS, minimum=0),
    S("max-bytes", "int", MAX_BYTES, minimum=0),
    S("max-columns", "int", MAX_COLUMNS, minimum=0),
    # checks
    S("alpha", "float", 0.05, minimum=0, maximum=1, exclusive=True),
    S("p-adjust", "choice", "holm", ("holm", "bh", "none")),
    S("select", "list", ("ALL",)),
    S("extend-select", "list", ()),
    S("ignore", "list", ()),
    S("allow-empty", "bool", False),
    S("horizons", "floats", None, minimum=0),
    S("seed", "int", 20240601, minimum=0),
    S("n-sim", "int", 999, minimum=1),
    S("sequential", "bool", False),
    S("jobs", "int", 2, minimum=1, maximum=64),
    # gate policy
    S("fail-on", "choice", "error", ("error", "warning", "info", "never")),
    S("inconclusive", "choice", "warn", ("fail", "warn", "pass")),
    S("max-movement-ratio", "float", None, minimum=0, exclusive=True),
    S("min-movement-ratio", "float", None, minimum=0, exclusive=True),
    S("max-brier", "float", None, minimum=0, maximum=1),
    S("baseline", "path"),
    S("baseline-tolerance", "float", 0.1, minimum=0),
    S("exit-zero", "bool", False),
    # output
    S("format", "choice", "text", ("text", "json", "junit", "github", "markdown")),
    S("output", "path"),
    S("junit-xml", "path"),
    S("markdown", "path"),
    S("html", "path"),
    S("quiet", "bool", False),
    S("verbose", "int", 0, minimum=0),
    S("color", "choice", "auto", ("auto", "always", "never")),
    S("no-progress", "bool", False),
    # engine (docs/performance.md, "Dask engine")
    S("engine", "choice", "memory", ("memory", "dask")),
    S("scheduler", "str"),
    S("dask-workers", "int", None, minimum=1),
    S("dask-memory-limit", "str"),
)
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
BY_ATTR: dict[str, Setting] = {s.attr: s for s in SETTINGS}
PATH_KEYS = tuple(s.key for s in SETTINGS if s.kind == "path")
OVERRIDE_KEYS = ("series", "ignore")


# ------------------------------------------------------------------ values
def _bad(where: str, setting: Setting, value: Any) -> SettingsError:
    return SettingsError(f"{where}: `{setting.key}` = {value!r} is not valid; allowed: {setting.allowed()}.")


def coerce(setting: Setting, value: Any, where: str) -> Any:
    """Validate a TOML value (or, with ``from_text``, a string) for ``setting``."""
    kind = setting.kind
    if kind in ("str", "path"):
        if not isinstance(value, str) or (kind == "path" and not value):
            raise _bad(where, setting, value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(where, setting, value)
        return value
    if kind == "choice":
        if not isinstance(value, str) or value not in setting.choices:
            raise _bad(where, setting, value)
        return value
    if kind == "list":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _bad(where, setting, value)
        return tuple(x.strip() for v in value for x in v.split(",") if x.strip())
    if kind == "floats":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in value):
            raise _bad(where, setting, value)
        vals = tuple(float(v) for v in value)
        if setting.minimum is not None and any(v < setting.minimum for v in vals):
            raise _bad(where, setting, value)
        return vals
    if kind in ("int", "float"):
        ok = isinstance(value, int) if kind == "int" else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            raise _bad(where, setting, value)
        v = int(value) if kind == "int" else float(value)
        lo, hi = setting.minimum, setting.maximum
        if setting.exclusive:
            bad = (lo is not None and v <= lo) or (hi is not None and v >= hi)
        else:
            bad = (lo is not None and v < lo) or (hi is not None and v > hi)
        if bad:
            raise _bad(where, setting, value)
        return v
    raise AssertionError(kind)  # pragma: no cover


def from_text(setting: Setting, text: str, where: str) -> Any:
    """Parse a string (an environment variable) into a value for ``setting``."""
    kind = setting.kind
    t = text.strip()
    try:
        if kind == "bool":
            low = t.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind == "int":
            return coerce(setting, int(t), where)
        if kind == "float":
            return coerce(setting, float(t), where)
        if kind == "floats":
            return coerce(setting, [float(x) for x in t.split(",") if x.strip()], where)
        if kind == "list":
            return coerce(setting, t, where)
    except ValueError:
        raise _bad(where, setting, text) from None
    return coerce(setting, t, where)


# ------------------------------------------------------------------ files
@dataclass(frozen=True)
class Override:
    """``[[tool.forecheck.overrides]]``: checks ignored for series matching a glob."""

    series: tuple[str, ...]
    ignore: tuple[str, ...]

    def matches(self, series_id: str) -> bool:
        return any(fnmatch.fnmatchcase(series_id, pat) for pat in self.series)


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    table: str  # "[tool.forecheck]" or "forecheck.toml"
    values: dict[str, Any]  # attr -> validated value
    overrides: tuple[Override, ...] = ()


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read configuration file: {exc.strerror or exc}") from None


def _table_of(path: Path, doc: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    tool = doc.get("tool")
    if isinstance(tool, dict) and "forecheck" in tool:
        table = tool["forecheck"]
        if not isinstance(table, dict):
            raise SettingsError(f"{path}: [tool.forecheck] must be a table")
        return table, "[tool.forecheck]"
    if path.name == "pyproject.toml":
        return None, "[tool.forecheck]"
    return doc, path.name


def find_config_file(start: Path | str | None = None) -> Path | None:
    """The closest ``forecheck.toml`` or ``pyproject.toml`` with ``[tool.forecheck]``."""
    here = Path(start or os.getcwd()).resolve()
    for d in (here, *here.parents):
        cand = d / "forecheck.toml"
        if cand.is_file():
            return cand
        cand = d / "pyproject.toml"
        if cand.is_file():
            table, _ = _table_of(cand, _load_toml(cand))
            if table is not None:
                return cand
    return None


def _suggest(key: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def read_config_file(path: Path | str) -> ConfigFile:
    """Read and validate one configuration file; unknown keys and bad values raise
    :class:`SettingsError` naming the file, the key and the allowed values."""
    path = Path(path)
    if not path.is_file():
        raise SettingsError(f"{path}: configuration file not found")
    doc = _load_toml(path)
    table, label = _table_of(path, doc)
    if table is None:
        raise SettingsError(f"{path}: has no [tool.forecheck] table")
    where = f"{path} {label}"
    values: dict[str, Any] = {}
    overrides: list[Override] = []
    for key, raw in table.items():
        if key == "overrides":
            overrides.extend(_read_overrides(where, raw))
            continue
        setting = BY_KEY.get(key)
        if setting is None:
            raise SettingsError(f"{where}: unknown key `{key}`{_suggest(key, [*BY_KEY, 'overrides'])}; allowed keys: "
                                + ", ".join([*BY_KEY, "overrides"]))
        value = coerce(setting, raw, where)
        if setting.kind == "path" and not os.path.isabs(value) and value != "-":
            value = str(path.parent / value)
        values[setting.attr] = value
    return ConfigFile(path=path, table=label, values=values, overrides=tuple(overrides))


def _read_overrides(where: str, raw: Any) -> list[Override]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise SettingsError(f"{where}: `overrides` must be an array of tables ([[tool.forecheck.overrides]]) "
                            "with keys series and ignore")
    out = []
    for i, t in enumerate(raw, 1):
        w = f"{where} overrides #{i}"
        for k in t:
            if k not in OVERRIDE_KEYS:
                raise SettingsError(f"{w}: unknown key `{k}`{_suggest(k, OVERRIDE_KEYS)}; allowed keys: series, ignore")
        series, ignore = t.get("series"), t.get("ignore")
        if isinstance(series, str):
            series = [series]
        if not series or not isinstance(series, list) or not all(isinstance(s, str) and s for s in series):
            raise SettingsError(f"{w}: `series` must be a glob pattern or a list of them (e.g. \"NE-*\")")
        if isinstance(ignore, str):
            ignore = [ignore]
        if not ignore or not isinstance(ignore, list) or not all(isinstance(c, str) and c for c in ignore):
            raise SettingsError(f"{w}: `ignore` must be a list of check codes or prefixes (e.g. [\"MG102\"])")
        out.append(Override(series=tuple(series), ignore=tuple(c.strip().upper() for c in ignore)))
    return out


# ------------------------------------------------------------------ precedence
@dataclass(frozen=True)
class Effective:
    """The resolved settings: ``values[attr]`` and where each came from."""

    values: dict[str, Any]
    sources: dict[str, str]  # attr -> "command line" | "FORECHECK_X" | "<file> [tool.forecheck]" | "default"
    file: ConfigFile | None = None
    overrides: tuple[Override, ...] = ()

    def __getitem__(self, attr: str) -> Any:
        return self.values[attr]

    def get(self, attr: str, default: Any = None) -> Any:
        return self.values.get(attr, default)

    def rows(self) -> list[tuple[str, Any, str]]:
        return [(s.key, self.values[s.attr], self.sources[s.attr]) for s in SETTINGS]

    def to_dict(self) -> dict[str, Any]:
        return {
            "config_file": str(self.file.path) if self.file else None,
            "settings": {s.key: {"value": list(v) if isinstance(v := self.values[s.attr], tuple) else v,
                                 "source": self.sources[s.attr]} for s in SETTINGS},
            "overrides": [{"series": list(o.series), "ignore": list(o.ignore)} for o in self.overrides],
        }


def env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in SETTINGS:
        text = environ.get(s.env)
        if text is None or text == "":
            continue
        value = from_text(s, text, f"environment variable {s.env}")
        out[s.attr] = value
    return out


def resolve(cli: Mapping[str, Any] | None = None, *, config_path: str | Path | None = None,
            isolated: bool = False, cwd: str | Path | None = None,
            environ: Mapping[str, str] | None = None) -> Effective:
    """Resolve every setting: command line > FORECHECK_* > file > default.

    ``cli`` maps attribute names (``prob_col``) to values given on the command line only.
    """
    cli = dict(cli or {})
    unknown = [k for k in cli if k not in BY_ATTR]
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    environ = os.environ if environ is None else environ
    cfg: ConfigFile | None = None
    if config_path is not None:
        cfg = read_config_file(config_path)
    elif not isolated:
        found = find_config_file(cwd)
        cfg = read_config_file(found) if found else None
    env = {} if isolated else env_values(environ)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for s in SETTINGS:
        if s.attr in cli:
            values[s.attr], sources[s.attr] = cli[s.attr], "command line"
        elif s.attr in env:
            values[s.attr], sources[s.attr] = env[s.attr], s.env
        elif cfg is not None and s.attr in cfg.values:
            values[s.attr], sources[s.attr] = cfg.values[s.attr], f"{cfg.path} {cfg.table}"
        else:
            values[s.attr], sources[s.attr] = s.default, "default"
    return Effective(values=values, sources=sources, file=cfg, overrides=cfg.overrides if cfg else ())


# ------------------------------------------------------------------ selection
def _matches(code: str, selector: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


def validate_selectors(selectors: Iterable[str], known: Iterable[str], what: str) -> tuple[str, ...]:
    """Upper-case the selectors; each must be ALL or a prefix of at least one known code."""
    known = tuple(known)
    out = []
    for sel in selectors:
        s = sel.strip().upper()
        if not s:
            continue
        if s != "ALL" and not any(c.startswith(s) for c in known):
            families = sorted({c[:2] for c in known})
            raise SettingsError(f"{what}: unknown check code or prefix `{sel}`{_suggest(s, known)}; use a code "
                                f"such as MG101, a prefix ({', '.join(families)}, MG1, ...) or ALL; "
                                "`forecheck rules` lists every code")
        out.append(s)
    return tuple(out)


def select_codes(known: Iterable[str], select: Iterable[str], extend_select: Iterable[str] = (),
                 ignore: Iterable[str] = ()) -> tuple[str, ...]:
    """The codes a selection keeps, in registry order.

    As in ruff, the most specific selector decides: ``select = ["MG"], ignore = ["MG1"]``
    drops MG1xx, ``ignore = ["MG"], select = ["MG101"]`` keeps MG101; at equal specificity
    ``ignore`` wins. ``extend-select`` adds to ``select``.
    """
    chosen = [*select, *extend_select]
    ignore = list(ignore)
    out = []
    for code in known:
        def spec(sels: list[str]) -> int:
            lens = [0 if s == "ALL" else len(s) for s in sels if _matches(code, s)]
            return max(lens) if lens else -1

        s_sel, s_ign = spec(chosen), spec(ignore)
        if s_sel >= 0 and s_sel > s_ign:
            out.append(code)
    return tuple(out)


def override_groups(overrides: Iterable[Override], codes: Iterable[str],
                    series_ids: Iterable[str]) -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
    """Group the selected ``codes`` that some override ignores by the series they must not see.

    Returns ``[(codes, excluded series indices)]``; codes no override touches are not listed.
    """
    ids = [str(s) for s in series_ids]
    excluded: dict[str, set[int]] = {}
    for ov in overrides:
        hit = {i for i, sid in enumerate(ids) if ov.matches(sid)}
        if not hit:
            continue
        for code in codes:
            if any(_matches(code, sel) for sel in ov.ignore):
                excluded.setdefault(code, set()).update(hit)
    groups: dict[tuple[int, ...], list[str]] = {}
    for code in codes:
        if code in excluded:
            groups.setdefault(tuple(sorted(excluded[code])), []).append(code)
    return [(tuple(cs), idx) for idx, cs in groups.items()]


__all__ = ["SETTINGS", "Setting", "SettingsError", "Effective", "Override", "ConfigFile", "resolve",
           "find_config_file", "read_config_file", "select_codes", "validate_selectors", "override_groups",
           "env_values"]
