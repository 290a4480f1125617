"""The aws CLI suite reuses the server fixtures of the Python suite."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from nimbus_fixtures import *  # noqa: E402,F401,F403
