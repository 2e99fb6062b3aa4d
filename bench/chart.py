"""Chart of time against data-set size for floor, ours and peer, from bench/run.py's JSON.

    python bench/chart.py bench/results/latest.json bench/results/latest.png

The peer, when it ran on a sample, is drawn at its measured time per session times the
size's eligible sessions (and marked as extrapolated).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from matplotlib.figure import Figure


def main(source: str, target: str) -> None:
    results = json.loads(Path(source).read_text())["results"]
    sizes = [r["sessions"] for r in results]
    peer = [r["peer_sample"]["seconds"] / r["peer_sample"]["sessions"] * r["eligible_sessions"] for r in results]
    sampled = any(r["peer_sample"]["purchases"] < r["counts"]["course_purchases"] for r in results)
    fig = Figure(figsize=(7, 4.5), dpi=120, layout="tight")
    ax = fig.subplots()
    ax.plot(sizes, [r["seconds"]["floor"] for r in results], "o-", label="floor: one bare INSERT ... SELECT")
    ax.plot(sizes, [r["seconds"]["ours"] for r in results], "s-", label="ours: SELECT * FROM sync_all_sessions()")
    ax.plot(sizes, peer, "^--", label="peer: the platform's loop in Python"
                                      + (" (extrapolated from a sample)" if sampled else ""))
    ax.set(xscale="log", yscale="log", xlabel="purchase sessions in the data set", ylabel="seconds (log scale)",
           title="session-sync: time against size (same machine, same run)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(target)
    print(f"chart written to {target}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
