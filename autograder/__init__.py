"""autograder: a plugin-based, cheat-proof autograder for machine-learning courses."""

from autograder.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
