"""``python -m teacher.reading_copy``: see :mod:`teacher.reading_copy`."""

import sys

from . import main

sys.exit(main())
