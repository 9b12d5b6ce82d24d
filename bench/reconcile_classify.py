"""Time ``classify`` on a generated world and report peak RSS (run by hand, not by pytest).

    .venv/bin/python bench/reconcile_classify.py 1000000 --repeat 3

Run each size in its own process: ``ru_maxrss`` is the peak of the whole process, generation
included. ``--save DIR`` also writes the snapshots as Parquet for comparisons in other environments.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from dealer_sync.reconcile.classify import classify
from dealer_sync.reconcile.truth import TRUTH_AS_OF, make_truth_set


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("orders", type=int)
    parser.add_argument("--per-category", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()

    started = time.perf_counter()
    snapshots, expected = make_truth_set(args.orders, args.per_category, args.seed)
    generated = time.perf_counter() - started
    generation_peak = peak_rss_mb()
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, frame in snapshots.frames().items():
            frame.lazy().collect().write_parquet(args.save / f"{name}.parquet")

    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        findings = classify(snapshots, as_of=TRUTH_AS_OF)
        timings.append(time.perf_counter() - started)
        wanted = {category: count for category, count in expected.items() if count}
        if findings.counts() != wanted:
            raise SystemExit(f"wrong counts: {findings.counts()} != {wanted}")
    print(
        f"orders={args.orders:,} findings={len(findings):,} generate={generated:.2f}s "
        f"classify median={statistics.median(timings):.2f}s runs={[round(t, 2) for t in timings]} "
        f"peak_rss after generation={generation_peak:.0f} MB, overall={peak_rss_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
