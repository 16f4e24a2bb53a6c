"""Prints the record of processing activities (GDPR Art. 30), generated from the data map.

    python infra/scripts/processing_record.py              # Markdown in Norwegian (bokmål)
    python infra/scripts/processing_record.py --lang en    # Markdown in English
    python infra/scripts/processing_record.py --json       # the JSON the API serves

The same record as `GET /v1/privacy/processing-record(.md)`, made from the code in this
checkout (lederappen.core.datamap), with no database or network: attach its output to a
written answer to a member, or send it to the supervisory authority.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions"))

from lederappen.privacy import record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lang", choices=("nb", "en"), default="nb", help="language of the Markdown (default nb)"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON instead")
    args = parser.parse_args(argv)
    rec = record.build()
    if args.json:
        sys.stdout.write(json.dumps(rec, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(record.markdown(rec, args.lang))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
