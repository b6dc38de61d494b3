"""Building blocks every domain shares: errors, API base model, cursors, counters."""
