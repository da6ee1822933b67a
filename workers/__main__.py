"""``python -m workers`` is the ``nfsync`` command."""

from workers.cli import main

main()
