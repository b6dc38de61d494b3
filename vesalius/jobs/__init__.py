"""Background jobs: the ``jobs`` table is the queue (status, progress, attempts, retry times),
claimed in one statement, woken by a doorbell, kept alive by one heartbeat per worker
process, with at-least-once rescue of jobs whose worker died."""
