"""The svm_dual assignment, registered like any third-party assignment plugin."""

from pathlib import Path

from autograder import hookimpl


@hookimpl
def register_assignments(register):
    register(Path(__file__).parent)
