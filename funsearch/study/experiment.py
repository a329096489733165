"""The configuration of a sweep (experiments/*.toml), validated by pydantic; every field documented.

A sweep asks: at each budget, which proposer size finds the best programs? It runs
one long run per (problem, size, seed) up to the largest budget, and reads every
smaller budget from that run's ledger rows. Baselines (best-of-N, a single island,
no-LLM random mutation) run at the same budgets.

Errors are one line naming the field: `experiment.toml: budgets: all budgets must be in one unit ...`.
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from funsearch.config import first_error
from funsearch.cost.budget import Budget, BudgetError, BudgetUnit

BASELINES = ("best_of_n", "single_island", "random_mutation")
SWEEP_UNITS = (BudgetUnit.DOLLARS, BudgetUnit.GPU_SECONDS, BudgetUnit.TOKENS, BudgetUnit.SAMPLES)


# The fields that decide what a finished cell's numbers mean: a sweep folder whose saved experiment differs in
# one of them holds another experiment's results and is refused (see `incompatibility`). Seeds, problems, sizes,
# baselines and new variants only add cells, each an independent run: a folder may grow by them. threads and
# hardware change measured seconds, never the modelled budgets; out, target_confidence and max_adaptive_runs
# change where and how long a sweep runs, not what a cell holds.
DEFINING_FIELDS = ("name", "budgets", "price_as", "modelled_batch", "backend", "scripted_file", "base_url",
                   "max_samples", "islands", "eval_timeout", "max_tokens", "temperature")

VARIANT_FIELDS = ("prompt", "steer", "diverge", "diverge_lines", "cascade_probe", "cascade_margin", "parent_helpers",
                  "temperature", "functions_per_prompt", "samples_per_prompt", "islands", "max_tokens")


class ExperimentError(Exception):
    """An experiment file is missing or invalid; the message names the field. One line."""


class ExperimentConfig(BaseModel):
    """Everything that determines a sweep."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="experiment name; the default output folder is sweeps/<name>")
    problems: tuple[str, ...] = Field(description="problem files (paths relative to the current directory)")
    sizes: tuple[str, ...] = Field(description="proposer model sizes compared (registry names, e.g. small, mid)")
    budgets: tuple[str, ...] = Field(
        description="budget checkpoints, all in one unit, ascending: dollars ($0.01), GPU-seconds (30gpu-s), "
                    "tokens (200k-tokens) or samples (50-samples); each run goes to the largest")
    seeds: tuple[int, ...] = Field((0, 1, 2), description="run seeds; an integer N means seeds 0..N-1")
    baselines: tuple[Literal["best_of_n", "single_island", "random_mutation"], ...] = Field(
        BASELINES, description="equal-budget baselines: best_of_n (prompt from the seed program only), "
                               "single_island (islands=1), random_mutation (no LLM)")
    baseline_size: str | None = Field(None, description="size the LLM baselines use (default: the first size)")
    price_as: str | None = Field("h100", description="hardware profile modelled cost is priced on (None: measured)")
    modelled_batch: int = Field(1, ge=1, description="batch the price-as engine is modelled at (cost per sample "
                                                     "falls with it until decoding becomes compute-bound)")
    hardware: str = Field("cpu", description="hardware profile the proposers really run on")
    backend: Literal["llamacpp", "scripted", "openai"] = Field("llamacpp", description="proposer backend")
    scripted_file: str | None = Field(None, description="JSON list of completion texts (backend scripted)")
    base_url: str | None = Field(None, description="OpenAI-compatible server URL (backend openai)")
    api_key_env: str | None = Field(None, description="environment variable holding the API key (backend openai)")
    max_samples: int = Field(200, ge=1, description="safety cap: a run stops after this many samples whatever "
                                                    "its budget (the no-LLM baseline costs almost nothing)")
    islands: int = Field(10, ge=2, description="islands of the evolving runs (single_island uses 1)")
    eval_timeout: float = Field(10.0, gt=0, description="wall seconds per instance before the sandbox kills it")
    threads: int = Field(2, ge=1, description="CPU threads per llama.cpp proposer")
    max_tokens: int = Field(400, ge=16, description="completion token cap")
    temperature: float = Field(0.8, gt=0, description="sampling temperature")
    out: str | None = Field(None, description="sweep folder (default sweeps/<name>); --out overrides it")
    target_confidence: float = Field(0.9, gt=0.5, lt=1.0, description="--adaptive stops when the best size at "
                                                                      "every budget has this probability")
    max_adaptive_runs: int | None = Field(None, ge=1, description="--adaptive run cap per problem "
                                                                  "(default: the grid's sizes x seeds)")
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="named run settings compared like sizes (an ablation): each evolve "
                                          "cell runs once per variant, e.g. {classic = {prompt = 'classic', steer "
                                          "= false}, edit = {prompt = 'edit'}}; keys: " + ", ".join(VARIANT_FIELDS))

    @field_validator("problems", "sizes", "budgets", mode="before")
    @classmethod
    def _non_empty_list(cls, value):
        if isinstance(value, str):
            value = [value]
        if not value:
            raise ValueError("needs at least one entry")
        if len(set(value)) != len(value):
            raise ValueError("has repeated entries")
        return tuple(value)

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, value):
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError("a seed count must be >= 1")
            return tuple(range(value))
        if not value:
            raise ValueError("needs at least one seed")
        if len(set(value)) != len(value):
            raise ValueError("has repeated seeds")
        return tuple(value)

    @field_validator("variants")
    @classmethod
    def _variants(cls, value):
        from funsearch.config import ConfigError, make_config

        for name, settings in value.items():
            if not name or not name.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"variant name {name!r} must be letters, digits, - or _")
            unknown = sorted(set(settings) - set(VARIANT_FIELDS))
            if unknown:
                raise ValueError(f"{name}: unknown setting {unknown[0]!r} (one of {', '.join(VARIANT_FIELDS)})")
            try:
                make_config(problem="-", **settings)
            except ConfigError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return value

    @field_validator("baselines", mode="before")
    @classmethod
    def _baselines(cls, value):
        value = tuple(value)
        if len(set(value)) != len(value):
            raise ValueError("has repeated baselines")
        return value

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, value):
        parsed = []
        for text in value:
            try:
                parsed.append(Budget.parse(text))
            except BudgetError as exc:
                raise ValueError(str(exc)) from None
        units = {b.unit for b in parsed}
        if len(units) > 1:
            raise ValueError(f"all budgets must be in one unit, got {', '.join(sorted(u.value for u in units))}")
        if parsed[0].unit not in SWEEP_UNITS:
            raise ValueError(f"unit {parsed[0].unit.value} cannot be read from a run's rows; use dollars, "
                             "GPU-seconds, tokens or samples")
        amounts = [b.amount for b in parsed]
        if amounts != sorted(amounts):
            raise ValueError("must be in ascending order")
        return value

    @model_validator(mode="after")
    def _cross_fields(self):
        if self.backend == "scripted" and not self.scripted_file:
            raise ValueError("scripted_file: needed with backend scripted")
        if self.backend == "openai" and not self.base_url:
            raise ValueError("base_url: needed with backend openai")
        if self.baseline_size is not None and self.baseline_size not in self.sizes:
            raise ValueError(f"baseline_size: {self.baseline_size!r} is not one of sizes")
        if self.budget_unit is BudgetUnit.GPU_SECONDS and self.price_as is None:
            raise ValueError("price_as: GPU-second budgets need a price-as profile (e.g. h100)")
        return self

    # --- derived -------------------------------------------------------------------------------------------
    @property
    def parsed_budgets(self) -> tuple[Budget, ...]:
        return tuple(Budget.parse(t) for t in self.budgets)

    @property
    def budget_unit(self) -> BudgetUnit:
        return Budget.parse(self.budgets[0]).unit

    @property
    def budget_amounts(self) -> tuple[float, ...]:
        return tuple(b.amount for b in self.parsed_budgets)

    @property
    def llm_baseline_size(self) -> str:
        return self.baseline_size or self.sizes[0]

    def out_dir(self, override: str | Path | None = None) -> Path:
        return Path(override or self.out or Path("sweeps") / self.name)


def parse_experiment(data: dict, source: str = "experiment") -> ExperimentConfig:
    """Validate a parsed TOML table; errors are `source: field: message` on one line."""
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        message = first_error(exc)
        raise ExperimentError(f"{source}: {message}") from None


def load_experiment(path: str | Path, check_files: bool = True) -> ExperimentConfig:
    """Read and validate experiments/NAME.toml; with check_files, every problem and scripted file must exist and
    every size must be in the model registry (with weights for the experiment's backend)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ExperimentError(f"no experiment file {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{path}: not valid TOML: {str(exc).splitlines()[0]}") from None
    exp = parse_experiment(data, str(path))
    if check_files:
        for problem in exp.problems:
            if not Path(problem).is_file():
                raise ExperimentError(f"{path}: problems: no such file {problem}")
        if exp.scripted_file and not Path(exp.scripted_file).is_file():
            raise ExperimentError(f"{path}: scripted_file: no such file {exp.scripted_file}")
        check_sizes(exp, str(path))
    return exp


def check_sizes(exp: ExperimentConfig, source: str = "experiment") -> None:
    """Every size must be a registry name; with backend llamacpp it must ship llama.cpp weights."""
    from funsearch.weights.registry import ModelRegistryError, load_registry

    try:
        registry = load_registry()
    except ModelRegistryError as exc:
        raise ExperimentError(f"{source}: sizes: {exc}") from None
    for size in exp.sizes:
        if size not in registry:
            raise ExperimentError(f"{source}: sizes: unknown size {size!r} (the registry has "
                                  f"{', '.join(registry)})")
        if exp.backend == "llamacpp" and registry[size].llamacpp is None:
            raise ExperimentError(f"{source}: sizes: {size!r} has no llama.cpp weights (backends: "
                                  f"{', '.join(registry[size].backends)})")


def defining(data: dict) -> dict:
    """The defining fields of an experiment given as its JSON (experiment.json), defaults filled in."""
    try:
        data = json.loads(ExperimentConfig.model_validate(data).model_dump_json())
    except ValidationError:
        pass                                  # a file from another version: compare what it says
    return {k: data.get(k) for k in DEFINING_FIELDS + ("variants",)}


def incompatibility(saved: dict, exp: ExperimentConfig) -> str | None:
    """Why results of the experiment `saved` (its experiment.json) cannot be merged with `exp`'s, naming the first
    differing defining field ("budgets: saved [...], now [...]"); None when exp is the same experiment, possibly
    with more (or fewer) seeds, problems, sizes, baselines or variants. A variant both name must mean the same."""
    old, new = defining(saved), defining(json.loads(exp.model_dump_json()))
    for key in DEFINING_FIELDS:
        if old[key] != new[key]:
            return f"{key}: saved {json.dumps(old[key])}, now {json.dumps(new[key])}"
    for name in sorted(set(old["variants"] or {}) & set(new["variants"] or {})):
        if old["variants"][name] != new["variants"][name]:
            return (f"variants.{name}: saved {json.dumps(old['variants'][name], sort_keys=True)}, now "
                    f"{json.dumps(new['variants'][name], sort_keys=True)}")
    return None
