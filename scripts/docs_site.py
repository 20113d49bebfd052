"""The docs site as one offline page: after `dbt docs generate --static`, two fixes to dbt-docs' page so
that it opens from disk without a console error or a request for a file that does not exist.

    python -m scripts.docs_site      # `make docs` runs it after dbt; patches <target>/static_index.html

dbt-docs ships two template leftovers: an SVG `<use xlink:href="{{ getIcon(...) }}">` in an AngularJS
template, which the browser fetches as a file name before Angular fills it in (AngularJS' ng-attr- prefix
sets the attribute only once interpolated), and a favicon link whose href is a webpack expression never
built (`${require(...)}`), replaced by an empty inline icon.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATCHES = [
    ('<use xlink:href="{{ getIcon(', '<use ng-attr-xlink:href="{{ getIcon('),
    ("href=\"${require('./assets/favicons/favicon.ico')}\"", 'href="data:,"'),
]


def static_page() -> Path:
    target = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return (target if target.is_absolute() else ROOT / target) / "static_index.html"


def patch(page: str) -> tuple[str, int]:
    count = 0
    for old, new in PATCHES:
        count += page.count(old)
        page = page.replace(old, new)
    return page, count


def main() -> int:
    path = static_page()
    if not path.exists():
        print(f"docs: {path} not found (dbt docs generate --static did not write it)", file=sys.stderr)
        return 2
    page, count = patch(path.read_text(encoding="utf-8"))
    path.write_text(page, encoding="utf-8")
    size = path.stat().st_size / 2**20
    print(f"docs: wrote {path} ({size:.1f} MiB, {count} template leftovers fixed); open it from disk")
    return 0


if __name__ == "__main__":
    sys.exit(main())
