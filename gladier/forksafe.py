"""Starting processes from gladier's threads without one inheriting another's pipes.

The local compute pool forks its workers (the ``fork`` start method, the default on
Linux), and a forked process keeps every file descriptor its parent had open at that
moment, pipes included. If another thread is running a program through pipes just then
(``dot`` drawing a flow for a progress display in Jupyter), each worker keeps that
program's pipe ends open for its whole life, and the thread waiting for the program to
finish waits forever. :data:`PROCESS_START_LOCK` is held while the pool forks its workers
and while gladier runs a program through pipes, so the two never overlap.
"""

import threading

PROCESS_START_LOCK = threading.Lock()
