"""Click commands too big for ``autograder/cli.py``; each is a thin wrapper over a library call."""
