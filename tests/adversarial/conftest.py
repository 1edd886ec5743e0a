from tests.fakes.eval_support import private_cache  # noqa: F401 - autouse fixture
