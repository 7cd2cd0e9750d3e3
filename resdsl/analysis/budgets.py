"""Budget checks: each declared limit against the network's figures, as located errors."""
from __future__ import annotations

from dataclasses import dataclass

from resdsl.diagnostics import BudgetError, SourceSpan
from resdsl.units import binary_bytes, si


@dataclass(frozen=True)
class BudgetLimit:
    """A `budget` line's limit, as elaboration evaluated it."""

    metric: str
    op: str        # "<=" or "<"
    limit: float
    span: SourceSpan


@dataclass(frozen=True)
class BudgetResult:
    limit: BudgetLimit
    actual: int

    @property
    def ok(self) -> bool:
        return self.actual <= self.limit.limit if self.limit.op == "<=" else self.actual < self.limit.limit


def check_budgets(limits: tuple[BudgetLimit, ...], actual: dict[str, int],
                  stage_shares: dict[str, dict[str, int]]) -> tuple[tuple[BudgetResult, ...], list[BudgetError]]:
    """Compare every budget; return the results and one error per budget exceeded.

    `stage_shares[metric]` maps stage -> that stage's part of the metric, to name the costliest stage.
    """
    results, errors = [], []
    for limit in limits:
        result = BudgetResult(limit, actual[limit.metric])
        results.append(result)
        if result.ok:
            continue
        over = result.actual - limit.limit
        exact = binary_bytes if limit.metric == "activations" else (lambda v: f"{v:,.0f}")
        short = binary_bytes if limit.metric == "activations" else si
        if over == 0:
            message = f"{limit.metric} {exact(result.actual)} are not below the budget < {short(limit.limit)}"
        else:
            message = (f"{limit.metric} {exact(result.actual)} exceed the budget {limit.op} {short(limit.limit)} "
                       f"by {short(over)} ({over / limit.limit:.1%})")
        shares = stage_shares.get(limit.metric) or {}
        hint = None
        if shares:
            stage, part = max(shares.items(), key=lambda kv: kv[1])
            total = sum(shares.values()) or 1
            hint = (f"the costliest stage is {stage} with {si(part)} ({part / total:.0%} of {limit.metric}); "
                    f"make it narrower or shallower, or raise the budget")
        errors.append(BudgetError(message, limit.span, hint))
    return tuple(results), errors
