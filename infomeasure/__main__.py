"""``python -m infomeasure ...``: the command line, the same as the ``infomeasure`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
