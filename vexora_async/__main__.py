"""``python -m vexora_async``: the ``vexora-async`` console script."""

import sys

from .cli import main

sys.exit(main())
