"""The engine's built-in sandbox backends, registered like any plugin's."""

from autograder.hookspecs import hookimpl


@hookimpl
def register_sandboxes(register):
    from autograder.sandbox.subprocess_backend import SubprocessSandbox

    register("subprocess", SubprocessSandbox)
