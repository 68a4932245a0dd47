"""Recipes: YAML mapped onto frozen dataclasses, loaded strictly, with dotted command-line overrides.

Every unknown key, wrong type, out-of-range value or unknown name is collected and raised together as one
RecipeError, each naming its dotted key (with a did-you-mean), before anything heavy is imported.

- ``strict``: the domain-free loader (a mapping onto dataclasses, every problem collected);
- ``schema``: the dataclasses of a recipe and their checks;
- ``grid``: a grid's arms x fractions x seeds as single-run recipes;
- ``load``: files, ``extends``, profiles and overrides.
"""

from kit.recipe.grid import PlannedRun
from kit.recipe.load import find_recipe, load_recipe, parse_overrides, recipes_dir, shipped_recipes
from kit.recipe.schema import (
    PROFILES,
    QUANT_TYPES,
    SOURCE_KINDS,
    ArmSpec,
    DataSpec,
    EvalSpec,
    EvalTaskSpec,
    ExportSpec,
    GridSpec,
    LoraSpec,
    ModelSpec,
    Recipe,
    ReplaySpec,
    SourceSpec,
    Stage,
    StageSpec,
    TrainSpec,
)
from kit.recipe.strict import RecipeError

__all__ = [
    "PROFILES",
    "QUANT_TYPES",
    "SOURCE_KINDS",
    "ArmSpec",
    "DataSpec",
    "EvalSpec",
    "EvalTaskSpec",
    "ExportSpec",
    "GridSpec",
    "LoraSpec",
    "ModelSpec",
    "PlannedRun",
    "Recipe",
    "RecipeError",
    "ReplaySpec",
    "SourceSpec",
    "Stage",
    "StageSpec",
    "TrainSpec",
    "find_recipe",
    "load_recipe",
    "parse_overrides",
    "recipes_dir",
    "shipped_recipes",
]
