"""``forecheck config``: the effective settings of ``forecheck analyze`` and where each came from."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated, Optional

import typer

from forecheck.cli.common import fail, write_payload
from forecheck import settings as S


class ConfigFormat(str, Enum):
    text = "text"
    json = "json"


def _show(v) -> str:
    if isinstance(v, tuple):
        return ", ".join(str(x) for x in v) if v else "(none)"
    if v is None:
        return "(none)"
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def config_command(
    config: Annotated[Optional[str], typer.Option("--config", help="Configuration file to read.")] = None,
    isolated: Annotated[bool, typer.Option(help="Ignore configuration files and FORECHECK_* variables.")] = False,
    fmt: Annotated[ConfigFormat, typer.Option("--format", "-f", help="Output format.")] = ConfigFormat.text,
) -> None:
    """Print the effective settings (file, FORECHECK_* variables, defaults) and the source of each.

    Command-line options of `forecheck analyze` override what is shown here.
    """
    try:
        eff = S.resolve({}, config_path=config, isolated=isolated)
    except S.SettingsError as exc:
        fail(exc.message)
    if fmt is ConfigFormat.json:
        write_payload(json.dumps(eff.to_dict(), indent=2, ensure_ascii=False))
        return
    head = f"configuration file: {eff.file.path} {eff.file.table}" if eff.file else \
        "configuration file: none (" + ("--isolated" if isolated else "no forecheck.toml or [tool.forecheck] found") + ")"
    rows = eff.rows()
    w = max(len(k) for k, _, _ in rows)
    vw = min(36, max(len(_show(v)) for _, v, _ in rows))
    lines = [head, "", f"{'key':<{w}}  {'value':<{vw}}  source"]
    lines += [f"{k:<{w}}  {_show(v):<{vw}}  {src}" for k, v, src in rows]
    if eff.overrides:
        lines.append("")
        lines.append("per-series overrides:")
        lines += [f"  series {', '.join(o.series)}: ignore {', '.join(o.ignore)}" for o in eff.overrides]
    lines.append("")
    lines.append("precedence: command line > FORECHECK_* environment > file > default")
    write_payload("\n".join(lines), machine=False)
