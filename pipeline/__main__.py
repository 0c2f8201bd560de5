"""`python -m pipeline` is the `gan` command."""

import sys

from pipeline.cli import main

if __name__ == "__main__":  # spawned rank processes import this module too
    sys.exit(main())
