"""`python -m pipeline` is the `gan` command."""

import sys

from pipeline.cli import main

sys.exit(main())
