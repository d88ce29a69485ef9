"""How a plan's cost reads: the totals line, what one GPU holds by memory, and number formats.

run: mixft plan cocktail_paper --gpu H200    (the last two lines under the table)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mixft.runner.plan.cost import PlanCost
    from mixft.runner.plan.grid import Plan


def cost_totals(cost: PlanCost) -> str:
    """One line: total tokens, FLOPs and GPU-hours, the GPU and utilisation assumed, what was measured."""
    t, hw = cost.totals(), cost.hardware
    line = (
        f"cost: {count(t['tokens'])} training tokens; {flops_text(t['train_flops'])} training + "
        f"{flops_text(t['eval_flops'])} evaluation; {hours(t['gpu_hours'])} GPU-hours on {hw.gpu} "
        f"({hw.peak_tflops:g} TFLOP/s dense bf16 peak) at {hw.mfu:.0%} MFU; training tokens "
        f"measured (cache) for {t['measured']} of {t['trained']} trained runs, estimated for the rest; "
        f"kept weights {t['disk_bytes'] / 1e9:.3g} GB (training.keep)"
    )
    errors = t["errors"]
    return line + (f"; {len(errors)} runs have no figures: {errors[0]}" if errors else "")


def packing_line(plan: Plan, cost: PlanCost) -> str:
    """One line: how many runs of each model and method one GPU of the plan's hardware holds by memory
    (plan/memory.py), within the executor's runs_per_gpu."""
    from mixft.runner.plan.memory import USABLE

    hw, per_gpu = cost.hardware, getattr(plan.executor(), "runs_per_gpu", 1)
    if hw.memory_gb is None:
        return f"memory: {hw.gpu}'s is unknown; each run's estimate is its memory_gb (--format json)"
    groups: dict[str, list[tuple[float, float]]] = {}
    for run in plan.runs:
        label = f"{run.config.model.name} {'eval' if run.role == 'base' else run.config.training.method}"
        groups.setdefault(label, []).append((cost.runs[run.id].memory_bytes, cost.runs[run.id].peak_bytes))
    parts = []
    for label, sizes in groups.items():
        budget, peak = max(sizes)
        fits = min(per_gpu, int(hw.memory_gb * 1e9 * USABLE // budget))
        parts.append(
            f"{label} peak {peak / 1e9:.3g} GB, budget {budget / 1e9:.3g} GB: {fits or 'does not fit'}"
        )
    return (
        f"memory per run (predicted peak, and the budget packing reserves), and runs one {hw.gpu} "
        f"({hw.memory_gb:g} GB) holds at runs_per_gpu {per_gpu}: " + "; ".join(parts)
    )


def scaled(value: float, units: tuple[tuple[str, float], ...]) -> str:
    """`value` in the largest of `units` (name, size) it reaches, 3 significant digits."""
    name, size = next(((n, s) for n, s in reversed(units) if value >= s), units[0])
    return f"{value / size:.3g}{name}" if value / size < 100 else f"{value / size:,.0f}{name}"


def count(n: float) -> str:
    """A count with k, M, B, T."""
    return scaled(n, (("", 1), ("k", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12)))


def flops_text(flops: float) -> str:
    """FLOPs in GFLOPs to ZFLOPs."""
    units = ((" GFLOPs", 1e9), (" TFLOPs", 1e12), (" PFLOPs", 1e15), (" EFLOPs", 1e18), (" ZFLOPs", 1e21))
    return scaled(flops, units)


def hours(value: float) -> str:
    """GPU-hours for people: 3 significant digits, thousands separated, "<0.01" for almost none."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value >= 0.01 or value == 0 else "<0.01"
