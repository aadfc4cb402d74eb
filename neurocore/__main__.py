"""``python -m neurocore`` is the ``neurocore`` command."""
import sys

from neurocore.cli import main

sys.exit(main())
