"""The learning rate at each optimizer step: linear warmup, then cosine, WSD or constant.

A pure function of the step, so a resumed run needs no scheduler state to match.
"""

from __future__ import annotations

import math

from training.config import OptimSection, ScheduleSection


def learning_rate(step: int, max_steps: int, optim: OptimSection,
                  schedule: ScheduleSection) -> float:
    """`step` counts from 0: warmup reaches `lr` at step `warmup_steps - 1`, and the last
    step of the schedule (`decay_steps - 1`, by default `max_steps - 1`) and any after it
    run at `min_lr`. With `decay_steps` fixed, the rate does not depend on `max_steps`, so
    a run stopped early and resumed with a larger `max_steps` continues exactly."""
    peak, low = optim.lr, optim.min_lr
    max_steps = schedule.decay_steps or max_steps
    if step < schedule.warmup_steps:
        return peak * (step + 1) / schedule.warmup_steps
    if schedule.kind == "constant":
        return peak
    if schedule.kind == "wsd":  # warmup, stable at peak, linear decay over the last part
        decay_start = max_steps - int(schedule.decay_fraction * max_steps)
        if step < decay_start:
            return peak
        progress = (step + 1 - decay_start) / max(max_steps - decay_start, 1)
        return peak + (low - peak) * min(progress, 1.0)
    progress = (step + 1 - schedule.warmup_steps) / max(max_steps - schedule.warmup_steps, 1)
    return low + 0.5 * (peak - low) * (1 + math.cos(math.pi * min(progress, 1.0)))
