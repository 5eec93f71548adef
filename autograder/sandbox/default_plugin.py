"""The engine's built-in sandbox backends, registered like any plugin's."""

from autograder.hookspecs import hookimpl


def _zygote():
    from autograder.sandbox.zygote_backend import ZygoteSandbox

    return ZygoteSandbox()


def _strict():
    from autograder.sandbox.zygote_backend import ZygoteSandbox

    return ZygoteSandbox(strict=True)


@hookimpl
def register_sandboxes(register):
    from autograder.sandbox.subprocess_backend import SubprocessSandbox

    register("subprocess", SubprocessSandbox)
    register("zygote", _zygote)
    register("strict", _strict)
