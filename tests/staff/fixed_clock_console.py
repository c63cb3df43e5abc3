"""``python -m tests.staff.fixed_clock_console``: the real console server, stopped in time.

The same ``staff.app.serve`` that ``python -m staff`` runs, on a clock fixed at
``ANXIN_TEST_NOW`` (ISO 8601 with an offset), so the dashboard's "today" and the
times on every page are the same on every run and committed screenshots only
change when the pages do.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

from care.clock import fixed_clock
from care.services import build
from staff.app import serve


def main() -> int:
    at = datetime.fromisoformat(os.environ["ANXIN_TEST_NOW"])
    return serve(care=build(clock=fixed_clock(at)))


if __name__ == "__main__":
    sys.exit(main())
