"""Grid expansion: a grid recipe's arms x fractions x training seeds as single-run recipes (``PlannedRun``).

A single-stage arm becomes a plain recipe (the same run id as the equivalent recipe written by hand); a multi-stage
arm keeps its stages, with DMT's replay fraction taken from the grid where it says ``grid``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kit.recipe.schema import ArmSpec, DataSpec, Recipe


@dataclass(frozen=True)
class PlannedRun:
    arm: str
    fraction: float | None
    recipe: Recipe
    seed: int = 0  # the training-seed index of this cell (GridSpec.seeds)

    @property
    def tag(self) -> str:
        tag = self.arm if self.fraction is None else f"{self.arm}-f{self.fraction:.6g}"
        return tag if self.seed == 0 else f"{tag}-s{self.seed}"


def expand(recipe: Recipe) -> list[PlannedRun]:
    """The grid expanded into single-run recipes (or the recipe alone when it has no grid), in the order a sweep
    runs them: arm by arm, the largest fraction first, then each training seed."""
    if recipe.grid is None:
        return [PlannedRun("single", None, recipe)]
    out = []
    for arm in recipe.grid.arms:
        fractions = sorted(recipe.grid.fractions, reverse=True) if arm.uses_grid else [None]
        for fraction in fractions:
            for seed in range(recipe.grid.seeds_at(fraction)):
                out.append(PlannedRun(arm.name, fraction, concrete(seeded(recipe, seed), arm, fraction), seed))
    return out


def seeded(recipe: Recipe, seed: int) -> Recipe:
    """Seed 0 is the recipe as written; seed s draws other examples and another adapter init."""
    if seed == 0:
        return recipe
    data = dataclasses.replace(recipe.data, seed=recipe.data.seed + seed)
    return dataclasses.replace(
        recipe, data=data, train=dataclasses.replace(recipe.train, seed=recipe.train.seed + seed)
    )


def concrete(recipe: Recipe, arm: ArmSpec, fraction: float | None) -> Recipe:
    """One arm at one fraction as a plain recipe: its stages' mixtures drawn from the grid's sources."""
    stages = [st.resolve(recipe.sources, fraction) for st in arm.stage_specs()]
    wanted = recipe.grid.tasks_of(arm)
    tasks = tuple(t for t in recipe.eval.tasks if t.name in wanted)
    eval_spec = dataclasses.replace(recipe.eval, tasks=tasks)
    if len(stages) == 1 and stages[0].replay_stage is None and stages[0].epochs is None:
        # one plain stage: a run like any single-stage recipe (and the same run id as one)
        return dataclasses.replace(
            recipe, data=DataSpec(stages[0].mixture, recipe.data.seed), eval=eval_spec, sources={}, grid=None
        )
    return dataclasses.replace(
        recipe, data=DataSpec((), recipe.data.seed), eval=eval_spec, sources={}, grid=None, stages=tuple(stages)
    )
