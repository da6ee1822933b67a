"""The lab: what proves and shows nfsync but never runs in production - the demo and its views, the benchmarks and
their report, the chaos suite, the synthetic shops and catalogs, and the diagnostic handlers (one of which can
SIGKILL its own process). The runtime never imports it (tests/test_architecture.py); the command line reaches it
only when a lab command runs (``nfsync demo``, ``bench``, ``chaos``, ``sandbox``)."""
