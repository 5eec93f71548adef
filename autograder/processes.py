"""Small facts about other processes, for cleaning up after graders that died."""

from __future__ import annotations

import os


def process_exists(pid: int) -> bool:
    """True while ``pid`` exists (even as another user's process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
