"""``python -m funnelkit.cli``: the same as the ``funnelkit`` command."""

import sys

from ._main import main

sys.exit(main())
