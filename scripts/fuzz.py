"""Mutation fuzzer for ``forecheck analyze`` (not run in CI).

Takes the corpus in tests/data/, mutates a file (byte flips, inserted markup,
control characters, extreme numbers and dates, deleted / duplicated / swapped lines
and cells, truncation), picks a few random flags, and runs the CLI in-process
(typer's CliRunner) for a bounded time. A run is a *finding* when

* an exception escapes the CLI (anything but SystemExit),
* the exit code is not 0, 1 or 2,
* stdout/stderr contain a traceback or "internal error" (the top-level catch), or
* a RuntimeWarning / FutureWarning raised from forecheck's own code reaches the user,
* a JSON / JUnit / GitHub payload does not parse, or a test-based record that ran
  (pass or fail) has no p-value,
* one run takes longer than --run-timeout seconds (a hang).

Each distinct finding (by exception type and innermost forecheck frame) is saved
once under --out as ``NNN-<signature>/`` with the input, the flags and the output.

    python scripts/fuzz.py --minutes 10 --out fuzz-findings
    python scripts/fuzz.py --minutes 1 --seed 3 --n-sim 19   # a quick smoke run
    python scripts/fuzz.py --replay fuzz-findings             # which findings still fail

Uses one core. Reproduce a finding with the ``cmd`` file saved next to it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shlex
import signal
import sys
import tempfile
import time
import traceback
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data"

TOKENS = [b"[/x]", b"[red]", b"[bold]oops[/]", b"]]>", b"%0A", b"::error::", b"\x00", b"\x0f", b"\x1b[31m",
          b"\xff\xfe", b"\xef\xbb\xbf", b"\u202e".decode("unicode_escape").encode(), "\u200b".encode(),
          b"1e-300", b"0.9999999999999999", b"1e400", b"-0", b"nan", b"inf", b"-inf", b"NA", b"", b"0", b"1",
          b"100", b"0.5", b"2999-01-02", b"0001-01-01", b"9223372036854775807", b"1600000000000000001",
          b"99999999999999999999", b"1/1/1", b"2020-02-30", b"12:00", b"\"", b"\"\"", b",", b";", b"\t", b"\n",
          b"\r\n", b"|", b"true", b"maybe", b"yes", b"won", b"pending", "\u00e9".encode("latin-1"),
          b"PAR1", b"\x1f\x8b"]
FLAGS = [[], [], [], ["--format", "json"], ["--format", "json"], ["--format", "json"], ["--format", "junit"],
         ["--format", "github"], ["-v"], ["-q"],
         ["--scale", "percent"], ["--scale", "unit"], ["--layout", "wide"], ["--layout", "long"],
         ["--min-length", "1"], ["--min-length", "2"], ["--na-values", "0"], ["--select", "MG"],
         ["--select", "WN"], ["--select", "CA"], ["--p-adjust", "none"], ["--fail-on", "info"],
         ["--horizons", "1,2"], ["--drop-backcast"], ["--cluster-col", "outcome"], ["--exit-zero"],
         ["--input-format", "csv"], ["--input-format", "parquet"], ["--alpha", "0.5"]]


def mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 3, 5])):
        op = rng.randrange(9)
        if not b:
            b = bytearray(rng.choice(TOKENS))
            continue
        i = rng.randrange(len(b))
        if op == 0:  # flip a byte
            b[i] = rng.randrange(256)
        elif op == 1:  # insert a token
            b[i:i] = rng.choice(TOKENS)
        elif op == 2:  # replace one cell with a token
            lines = bytes(b).split(b"\n")
            k = rng.randrange(len(lines))
            cells = lines[k].split(b",")
            cells[rng.randrange(len(cells))] = rng.choice(TOKENS)
            lines[k] = b",".join(cells)
            b = bytearray(b"\n".join(lines))
        elif op == 3:  # delete a line
            lines = bytes(b).split(b"\n")
            del lines[rng.randrange(len(lines))]
            b = bytearray(b"\n".join(lines))
        elif op == 4:  # duplicate a line
            lines = bytes(b).split(b"\n")
            k = rng.randrange(len(lines))
            lines.insert(rng.randrange(len(lines) + 1), lines[k])
            b = bytearray(b"\n".join(lines))
        elif op == 5:  # swap two lines
            lines = bytes(b).split(b"\n")
            j, k = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[j], lines[k] = lines[k], lines[j]
            b = bytearray(b"\n".join(lines))
        elif op == 6:  # truncate
            b = b[:i]
        elif op == 7:  # same value in a whole column (degenerate data)
            lines = bytes(b).split(b"\n")
            col, tok = rng.randrange(4), rng.choice([b"0.3", b"0", b"1", b"1e-300", b"0.5", b"100"])
            for k in range(1, len(lines)):
                cells = lines[k].split(b",")
                if len(cells) > col:
                    cells[col] = tok
                    lines[k] = b",".join(cells)
            b = bytearray(b"\n".join(lines))
        else:  # delete a span
            del b[i:i + rng.randrange(1, 40)]
    return bytes(b)


class Hang(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - only under the fuzzer
    raise Hang()


def signature(exc: BaseException | None, text: str) -> str:
    """Exception type + innermost forecheck frame (file:function), digits stripped."""
    if exc is not None and not isinstance(exc, SystemExit):
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "forecheck" in f.filename]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].name}" if frames else "?"
        return f"{type(exc).__name__}@{where}"
    m = re.findall(r'File "[^"]*forecheck/([^"]+)", line \d+, in (\w+)', text)
    kind = re.search(r"internal error: (\w+)", text)
    where = f"{m[-1][0].replace('/', '.')}:{m[-1][1]}" if m else "?"
    return f"{kind.group(1) if kind else 'output'}@{where}"


def check_payload(flags: list[str], stdout: str, code: int) -> str:
    """Machine outputs parse, and no test-based record that ran lacks a p-value."""
    given = [flags[i + 1] for i, f in enumerate(flags[:-1]) if f == "--format"]
    fmt = given[-1] if given else "text"  # the last --format wins
    if code not in (0, 1):
        return ""
    try:
        if fmt == "json":
            doc = json.loads(stdout)
            for rec in doc["results"]:
                if rec.get("test_based") and rec["status"] != "skip" and rec.get("pvalue") is None:
                    return f"NaNPvalue@{rec['code']}"
        elif fmt == "junit":
            ET.fromstring(stdout.encode())
        elif fmt == "github":
            if any(not line.startswith("::") for line in stdout.splitlines()):
                return "BadAnnotation"
    except (ValueError, ET.ParseError, KeyError) as exc:
        return f"Unparseable{fmt}:{type(exc).__name__}"
    return ""


def run_one(app, runner, path: str, flags: list[str], n_sim: int, run_timeout: int):
    args = ["analyze", path, "--n-sim", str(n_sim), "--debug", *flags]
    signal.alarm(run_timeout)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = runner.invoke(app, args, env={"NO_COLOR": "1", "COLUMNS": "120"})
    except Hang:
        return "hang", f"Hang@{time.perf_counter() - t0:.0f}s", ""
    finally:
        signal.alarm(0)
    out = (res.stdout or "") + "\n--- stderr ---\n" + (res.stderr or "")
    own = [w for w in caught if issubclass(w.category, (RuntimeWarning, FutureWarning))
           and "forecheck" in str(w.filename)]
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        tb = "".join(traceback.format_exception(res.exception))
        return "exception", signature(res.exception, ""), out + "\n--- traceback ---\n" + tb
    if res.exit_code not in (0, 1, 2):
        return "exit", f"exit{res.exit_code}", out
    if "Traceback" in out or "internal error" in out:
        return "internal", signature(None, out), out
    bad = check_payload(flags, res.stdout or "", res.exit_code)
    if bad:
        return "payload", bad, out
    if own:
        w = own[0]
        return "warning", f"{w.category.__name__}@{Path(w.filename).name}:{w.lineno}", \
            out + f"\n--- warning ---\n{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
    return None, "", ""


def replay(app, runner, root: Path, run_timeout: int) -> int:
    """Re-run every saved finding (its input and flags); 1 if any still fails."""
    still = 0
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        inp = next(d.glob("input*"))
        words = shlex.split((d / "cmd").read_text())
        n_sim = words[words.index("--n-sim") + 1]
        flags = words[words.index("--n-sim") + 2:]
        kind, sig, _ = run_one(app, runner, str(inp), flags, int(n_sim), run_timeout)
        still += kind is not None
        print(f"{'OPEN ' if kind else 'fixed'} {d.name}" + (f" -> {kind}: {sig}" if kind else ""), flush=True)
    return 1 if still else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Mutation fuzzer for forecheck analyze.")
    ap.add_argument("--minutes", type=float, default=5.0, help="wall-clock budget (default 5)")
    ap.add_argument("--out", default="fuzz-findings", help="directory for findings")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-sim", type=int, default=19, help="simulation draws per run (small = fast)")
    ap.add_argument("--run-timeout", type=int, default=120, help="seconds before a run counts as a hang")
    ap.add_argument("--replay", metavar="DIR", help="re-run the findings saved in DIR against the current code "
                                                    "and print which still fail")
    args = ap.parse_args(argv)

    from typer.testing import CliRunner

    from forecheck.cli.app import app

    signal.signal(signal.SIGALRM, _alarm)
    if args.replay:
        return replay(app, CliRunner(), Path(args.replay), args.run_timeout)
    rng = random.Random(args.seed)
    seeds = sorted(p for p in DATA.iterdir() if p.is_file() and p.name != "expected.csv")
    corpus = {p.name: p.read_bytes() for p in seeds}
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    seen: dict[str, int] = {}
    runner = CliRunner()
    deadline = time.monotonic() + 60 * args.minutes
    n = 0
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        while time.monotonic() < deadline:
            name = rng.choice(list(corpus))
            data = mutate(corpus[name], rng)
            suffix = "".join(Path(name).suffixes) or ".csv"
            path = os.path.join(tmp, f"in{suffix}")
            with open(path, "wb") as fh:
                fh.write(data)
            flags = rng.choice(FLAGS) + rng.choice(FLAGS[:3] + FLAGS)
            if rng.random() < 0.1:
                flags += ["--junit-xml", os.path.join(tmp, "j.xml")]
            kind, sig, text = run_one(app, runner, path, flags, args.n_sim, args.run_timeout)
            n += 1
            if kind is None:
                continue
            seen[sig] = seen.get(sig, 0) + 1
            if seen[sig] > 1:
                continue
            d = out_dir / f"{len(seen):03d}-{re.sub(r'[^A-Za-z0-9_.@-]', '_', sig)[:80]}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"input{suffix}").write_bytes(data)
            (d / "cmd").write_text("forecheck analyze " + shlex.quote(f"input{suffix}") + " --n-sim "
                                   + str(args.n_sim) + " " + " ".join(shlex.quote(f) for f in flags) + "\n")
            (d / "output.txt").write_text(text, errors="replace")
            (d / "meta.json").write_text(json.dumps({"kind": kind, "signature": sig, "seed_file": name,
                                                     "run": n}, indent=1))
            print(f"[{n}] {kind}: {sig} (from {name})", flush=True)
    minutes = (time.monotonic() - t_start) / 60
    summary = {"runs": n, "minutes": round(minutes, 1), "seed": args.seed,
               "findings": {k: v for k, v in sorted(seen.items())},
               "digest": hashlib.sha256(json.dumps(sorted(seen)).encode()).hexdigest()[:12]}
    (out_dir / f"summary-seed{args.seed}.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
