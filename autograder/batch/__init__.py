"""Batch grading: a folder or zip of submissions into the gradebook (``autograder batch``).

``autograder.batch.run.run_batch`` does the work; ``dispatch`` holds the
dispatcher interface and the local pool, ``sources`` the layouts. Nothing is
imported here, so loading the default plugin costs no start-up time.
"""
