"""Screenshots of the bundled sample's HTML report for docs/img/ (docs/report.md, README).

    python scripts/report_screenshots.py [--out docs/img]

Writes the report as `forecheck analyze sample_data/pres2020_states.csv --html`
would, opens it in headless Chromium at a laptop (1280 px) and a phone (390 px,
mobile emulation) width with the browser test's DevTools driver
(tests/test_html_browser.py), and saves full-page screenshots reduced to a
256-colour palette (Pillow) so that the two stay well under 1.5 MB. Needs the
``chromium`` package; run from anywhere (paths are taken relative to the repository).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)  # the report names the input as a user would type it
    from PIL import Image

    import forecheck
    from tests.test_html_browser import find_chromium, open_report

    binary = find_chromium()
    if binary is None:
        sys.exit("chromium not found (Debian: apt-get install chromium)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = forecheck.analyze("sample_data/pres2020_states.csv")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(report.to_html(), encoding="utf-8")
        print(f"report: {page.stat().st_size / 1e6:.2f} MB")
        for device, width in (("laptop", 1280), ("phone", 390)):
            raw = Path(tmp) / f"{device}.png"
            data = open_report(binary, page, Path(tmp), width, mobile=device == "phone", screenshot=raw)
            if data["console"] or data["exceptions"]:
                sys.exit(f"console output at {width}px: {data['console']} {data['exceptions']}")
            target = out / f"html-report-{device}.png"
            Image.open(raw).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
                target, optimize=True)
            print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
                  f"{width}x{data['screenshot_height']} px, {target.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
