"""Performance benches: ``python -m bench [NAME …]``; results go to ``docs/benchmarks.md``.

Speed targets are checked here, never by timed assertions in tests. Each bench prints its
figures beside a baseline measured in the same run.
"""
