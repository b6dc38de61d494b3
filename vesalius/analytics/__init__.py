"""Activity tracking, daily statistics and the analytics dashboard (seed 001)."""
