"""``python -m simdask``: the ``simdask`` command."""

import sys

from .cli import main

sys.exit(main())
