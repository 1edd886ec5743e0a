"""Put this folder on sys.path so the legacy and current-dialect suites share nki_testing."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
