"""``python -m wag.cli``: the ``wag`` command."""

import sys

from wag.cli import main

sys.exit(main())
