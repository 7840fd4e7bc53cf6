"""``python -m fastpitch_tpu``: the ``fastpitch-tpu`` command line."""

import sys

from fastpitch_tpu.cli import main

sys.exit(main())
