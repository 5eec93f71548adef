"""The engine's built-in batch plugins: the local process pool and the layouts it reads.

The implementations are imported on first use: this module loads with every command.
"""

from autograder.hookspecs import hookimpl


def local_pool(config):
    from autograder.batch.dispatch import LocalPoolDispatcher

    return LocalPoolDispatcher(config)


def _layout(name):
    def identify(root, assignment_id):
        from autograder.batch import sources

        return getattr(sources, f"identify_{name}")(root, assignment_id)
    identify.__name__ = f"identify_{name}"
    return identify


@hookimpl
def register_dispatchers(register):
    register("local", local_pool)


@hookimpl
def register_layouts(register):
    # Tried in this order: the specific layouts before the catch-all.
    register("gradescope", _layout("gradescope"))
    register("canvas", _layout("canvas"))
    register("per-student", _layout("per_student"))
