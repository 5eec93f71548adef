from autograder.plugins import get_registry


def test_plugin_is_installed():
    registry = get_registry()
    assert registry.assignment("toy_stats").plugin == "toy_stats"
