"""ROAD's noisy linear imputation against pytorch-grad-cam 1.5.7's, for equal work: one 224-pixel image, the same
removed pixels and seed, at ROAD's removal shares (10, 50 and 90 % of the pixels). Each round times both in
alternating order; the ratio (theirs / ours) is the median over rounds, read in one run.

    python -m benchmarks.bench_peer_metrics
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
from pytorch_grad_cam.metrics.road import NoisyLinearImputer

from registry.evaluation._metrics import noisy_linear_imputation, road_kept

SIDE, ROUNDS = 224, 3


def main() -> None:
    rng = np.random.default_rng(0)
    image = torch.tensor(rng.normal(size=(3, SIDE, SIDE)), dtype=torch.float32)
    heatmap = rng.random((SIDE, SIDE)).astype(np.float32)
    print("| removed | ours (s) | pytorch-grad-cam (s) | ratio theirs / ours | max difference |")
    print("|---:|---:|---:|---:|---:|")
    for percentile in (90, 50, 10):  # most relevant first keeps the map below the percentile
        kept = road_kept(heatmap, percentile, most_relevant_first=True)
        ours_times, theirs_times, ratios = [], [], []
        for round_ in range(ROUNDS):
            for which in (0, 1) if round_ % 2 == 0 else (1, 0):
                started = time.perf_counter()
                if which == 0:
                    ours = noisy_linear_imputation(image, kept, generator=torch.Generator().manual_seed(round_))
                    ours_times.append(time.perf_counter() - started)
                else:
                    torch.manual_seed(round_)
                    theirs = NoisyLinearImputer()(image, torch.from_numpy(kept.astype(np.float32)))
                    theirs_times.append(time.perf_counter() - started)
            ratios.append(theirs_times[-1] / ours_times[-1])
        print(
            f"| {100 - percentile} % | {statistics.median(ours_times):.2f} | {statistics.median(theirs_times):.2f} | "
            f"{statistics.median(ratios):.2f} | {float((ours - theirs).abs().max()):.1e} |"
        )


if __name__ == "__main__":
    main()
