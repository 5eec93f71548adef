"""A third-party autograder plugin: registers the toy_stats assignment."""

from pathlib import Path

from autograder import hookimpl


@hookimpl
def register_assignments(register):
    register(Path(__file__).parent / "toy_stats")
