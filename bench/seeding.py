"""What the seeds share: creation times that rise like a real hub's, with batches."""

import random
from datetime import datetime, timedelta


def rising_instants(
    count: int,
    *,
    start: datetime,
    span: timedelta,
    batch_chance: float,
    largest_batch: int,
    rng: random.Random,
) -> list[datetime]:
    """``count`` ascending instants spread over ``span`` (exponential gaps, as independent
    arrivals are). With ``batch_chance`` an instant starts a batch of 2–``largest_batch``
    rows sharing it, as a bulk import or a multi-file upload does."""
    mean_gap_us = span / timedelta(microseconds=1) / count
    stamps: list[datetime] = []
    moment, batch_left = start, 0
    while len(stamps) < count:
        if batch_left:
            batch_left -= 1
        else:
            moment += timedelta(microseconds=max(1, int(rng.expovariate(1 / mean_gap_us))))
            if rng.random() < batch_chance:
                batch_left = rng.randint(1, largest_batch - 1)
        stamps.append(moment)
    return stamps


def tie(stamps: list[datetime], rows: range) -> None:
    """Give ``rows`` one shared instant (the first's): placed across a deep page's cursor,
    the page is right only if the ``id`` tie-breaker works."""
    for index in rows:
        stamps[index] = stamps[rows.start]
