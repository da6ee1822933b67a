"""``python -m nfsync.workers`` is the ``nfsync`` command."""

from nfsync.workers.cli import main

main()
