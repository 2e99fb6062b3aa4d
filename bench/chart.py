"""Chart of time against data-set size for floor, ours and peer, from bench/run.py's JSON.

    python bench/chart.py bench/results/run-1m.json docs/performance.png

The peer, when it ran on a sample, is drawn at its measured time per session times the
size's eligible sessions (and marked as extrapolated).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(source: str, target: str) -> int:
    results = json.loads(Path(source).read_text())["results"]
    sizes = [r["sessions"] for r in results]
    floor = [r["seconds"]["floor"] for r in results]
    ours = [r["seconds"]["ours"] for r in results]
    peer = [r["peer_sample"]["seconds"] / r["peer_sample"]["sessions"] * r["eligible_sessions"] for r in results]
    sampled = any(r["peer_sample"]["purchases"] < r["counts"]["course_purchases"] for r in results)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.plot(sizes, floor, "o-", label="floor: one bare INSERT ... SELECT")
    ax.plot(sizes, ours, "s-", label="ours: SELECT * FROM sync_all_sessions()")
    ax.plot(sizes, peer, "^--", label="peer: the platform's loop in Python" + (" (extrapolated from a sample)"
                                                                                if sampled else ""))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("purchase sessions in the data set")
    ax.set_ylabel("seconds (log scale)")
    ax.set_title("session-sync: time against size (same machine, same run)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target)
    print(f"chart written to {target}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
