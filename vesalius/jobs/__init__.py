"""Background jobs: the ``jobs`` table (status, progress, attempts, heartbeats) on top of the
Huey queues, with at-least-once rescue of jobs whose worker died."""
