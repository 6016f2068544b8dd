"""``python -m sandbox.workers LISTEN_FD CONTROL_FD``: one worker of ``serve --workers``."""

import sys

from sandbox.workers.child import main

sys.exit(main(sys.argv[1:]))
