"""``python -m staff``: serve the console; ``python -m staff create-user NAME`` and friends."""

import sys

from staff.cli import main

sys.exit(main())
