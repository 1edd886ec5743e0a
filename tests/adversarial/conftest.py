import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "evaluate"))  # eval_support: the test problems

from eval_support import private_cache  # noqa: E402, F401 - autouse fixture
