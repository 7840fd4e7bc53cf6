"""``python -m fastpitch_tpu``: the ``fastpitch-tpu`` command line."""

import sys

from fastpitch_tpu.cli import main

if __name__ == "__main__":  # not when worker processes re-import this module
    sys.exit(main())
