"""Timing helpers shared by the bench scripts."""

import statistics
import time


def median_seconds(function, runs):
    """Median seconds of ``function()`` over ``runs`` calls."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
