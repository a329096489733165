"""The configuration of one run, validated by pydantic; every field documented.

`funsearch run` builds it from its flags; sweeps build one per cell; the run
store keeps it as RUN_DIR/config.json so `--resume` and `--replay` get the same run.
Shared by cli/, orchestrator/ and study/, it sits at the top of the package.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ConfigError(Exception):
    """A configuration is invalid; the message names the field. One line."""


class RunConfig(BaseModel):
    """Everything that determines a run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    problem: str = Field(description="path of the problem file")
    model_sizes: tuple[str, ...] = Field(("small",), description="proposer pool: registry sizes (or a .gguf path)")
    pool_counts: tuple[int, ...] = Field((), description="proposer actors per size (default 1 each)")
    pool_policy: Literal["fixed", "bandit"] = Field("fixed", description="how samples are shared among sizes")
    backend: Literal["llamacpp", "openai", "vllm", "scripted", "simulated"] = Field(
        "llamacpp", description="proposer backend (simulated: a SIMULATION, see simulated_from)")
    base_url: str | None = Field(None, description="OpenAI-compatible server URL (backend=openai)")
    api_key_env: str | None = Field(None, description="environment variable holding the API key (backend=openai)")
    scripted_file: str | None = Field(None, description="JSON list of completion texts (backend=scripted)")
    threads: int = Field(1, ge=1, description="CPU threads per llama.cpp proposer (a second thread on a shared "
                                              "2-core machine makes OpenMP spin: generation ~10x slower)")
    samples: int | None = Field(None, ge=1, description="stop after this many samples")
    budget: str | None = Field(None, description="stop when the ledger reaches it: 2gpu-h | $5 | 200k-tokens | 30m")
    hardware: str = Field("cpu", description="hardware profile the proposers really run on")
    price_as: str | None = Field(None, description="hardware profile to price modelled cost on (e.g. h100)")
    modelled_batch: int = Field(1, ge=1, description="sequences the modelled engine decodes together (prices each "
                                                     "sample at that batch on the price-as profile)")
    calibration: str | None = Field(None, description="calibration JSON (funsearch cost --calibrate) for the "
                                                      "modelled profile's utilisation factors")
    seed: int = Field(0, description="seeds the database's choices and every sample's sampling seed")
    islands: int = Field(10, ge=1, description="number of islands in the program database")
    functions_per_prompt: int = Field(2, ge=1, description="parents shown per prompt (v0, v1, ...)")
    reset_period: int | None = Field(None, ge=1, description="registered samples between island resets")
    samples_per_prompt: int = Field(1, ge=1, description="completions drawn per prompt")
    temperature: float = Field(0.8, gt=0, description="sampling temperature")
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling mass")
    max_tokens: int = Field(400, ge=16, description="completion token cap")
    evaluators: int | None = Field(None, ge=1, description="sandboxed evaluator actors (None: 1 beside a one-sequence "
                                                          "engine; else what `funsearch plan` sizes for the engines, "
                                                          "within the cluster's CPUs)")
    in_flight: int | None = Field(None, ge=1, description="pipeline depth: prompts drawn and not yet registered, per "
                                                          "proposer engine (None: 1 for one-sequence engines, else "
                                                          "from the engine's batch and the plan; recorded at start)")
    registration: Literal["ordered", "async"] | None = Field(
        None, description="ordered: results registered in sample order, a prompt sees exactly the samples more than "
                          "the window back (deterministic); async: registered as they arrive, the order recorded "
                          "for replay (None: ordered for one-sequence engines, async for batched ones)")
    eval_queue: int | None = Field(None, ge=1, description="bound on programs waiting for an evaluator, counting "
                                                           "the samples still at the engines: no prompt is drawn "
                                                           "while it is reached (None: the window)")
    engine_batch: int | None = Field(None, ge=1, description="sequences a batched engine decodes together (simulated: "
                                                             "its batch; default modelled_batch, else 64)")
    simulated_from: str | None = Field(None, description="backend simulated: a run directory or a JSON list of "
                                                         "completions whose texts it replays, with roofline latencies "
                                                         "of the size on `hardware` at `engine_batch`")
    eval_timeout: float = Field(10.0, gt=0, description="wall seconds per instance before the sandbox kills the "
                                                        "candidate (a split gets this times its instances)")
    eval_memory_mb: int = Field(2048, ge=64, description="address-space limit of a candidate")
    split: str | None = Field(None, description="split to evolve on (default: the problem's TRAIN_SPLIT)")
    address: str | None = Field(None, description="Ray cluster address (auto | ray://host:port); None: local")
    proposer_resources: dict[str, float] = Field(
        default_factory=dict, description="extra Ray resources each proposer actor requests (e.g. a node label)")
    evaluator_resources: dict[str, float] = Field(
        default_factory=dict, description="extra Ray resources each evaluator actor requests (e.g. {'cpu_node': 1})")
    proposer_timeout: float = Field(900.0, gt=0, description="seconds before a silent proposer call is abandoned "
                                                             "and its actor restarted")
    proposer_backoff: float = Field(2.0, gt=0, description="seconds before retrying a failed proposer; doubles per "
                                                           "consecutive failure (cap 60 s); 6 in a row retire it")
    checkpoint_every: int = Field(50, ge=1, description="registered samples between database checkpoints")
    prompt: Literal["classic", "edit", "idea", "mix"] | None = Field(
        None, description="prompt strategy (funsearch/program/strategies.py): classic (FunSearch), edit (pre-written "
                          "up to a random line of the best parent, then '# Improvement:'), idea (EoH-style operator "
                          "and a stated idea first), mix (edit or idea per sample); default: each size's own "
                          "(models/*.toml `prompt`)")
    steer: bool = Field(True, description="after a copy or no-op, the island's next prompt samples hotter "
                                          "(+0.2 per repeat, up to +0.6)")
    diverge: bool = Field(False, description="classic prompt: the sampler may not copy a parent past a random line "
                                             "of it (funsearch/program/divergence.py; llama.cpp backend only); "
                                             "`funsearch run` sets it where it applies (diverge_applies)")
    diverge_lines: Literal["uniform", "learned"] = Field(
        "uniform", description="with diverge, which line of a parent a copy must stop at: uniform (a random simple "
                               "statement) or learned (Thompson sampling on how often samples made to change that "
                               "line gave a valid program; funsearch/search/line_odds.py)")
    cascade_probe: int = Field(3, ge=0, description="probe instances evaluated first; a program with a parent's "
                                                    "outputs there (no-op) or clearly worse stops early; a split "
                                                    "this short runs whole and its no-ops still count (0: off)")
    cascade_margin: float = Field(0.1, description="stop after the probe when the probe mean is below the worst "
                                                   "parent's by more than this fraction (negative: only no-ops stop)")
    parent_helpers: bool = Field(True, description="a program that calls <name>_vK gets parent K as a helper")
    heldout: bool = Field(True, description="at the end, evaluate the best program on every other split")
    mode: Literal["evolve", "best_of_n", "random_mutation"] = Field(
        "evolve", description="evolve (FunSearch); best_of_n (always prompt from the seed); random_mutation (no LLM)")

    @field_validator("model_sizes", mode="before")
    @classmethod
    def _split_sizes(cls, value):
        if isinstance(value, str):
            value = [s.strip() for s in value.split(",") if s.strip()]
        if not value:
            raise ValueError("at least one model size is needed")
        return tuple(value)

    @model_validator(mode="after")
    def _divergence_is_applied(self):
        if self.diverge and self.backend in ("openai", "vllm"):
            raise ValueError(f"diverge needs token-level control of sampling, which the {self.backend} backend "
                             "does not give here: use --backend llamacpp or --no-diverge")
        if self.diverge_lines != "uniform" and not self.diverge:
            raise ValueError(f"diverge_lines {self.diverge_lines} chooses where forced divergence stops a copy: "
                             "it needs diverge (--diverge; diverge = true in a variant)")
        return self

    @model_validator(mode="after")
    def _simulation_is_named(self):
        if self.backend == "simulated" and not self.simulated_from:
            raise ValueError("backend simulated replays recorded completions: give simulated_from "
                             "(a run directory or a JSON list of completions)")
        return self

    def counts(self) -> dict[str, int]:
        counts = self.pool_counts or tuple(1 for _ in self.model_sizes)
        if len(counts) != len(self.model_sizes):
            raise ConfigError("pool_counts: needs one count per model size")
        return dict(zip(self.model_sizes, counts))

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: Path) -> "RunConfig":
        try:
            return cls.model_validate(json.loads(path.read_text()))
        except FileNotFoundError:
            raise ConfigError(f"no run config at {path}") from None
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ConfigError(f"{path}: {first_error(exc)}") from None


def first_error(exc: Exception) -> str:
    """One line naming the offending field of a pydantic error."""
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        message = err.get("msg", "invalid").removeprefix("Value error, ")
        return f"{where}: {message}" if where else message  # a model-level check names its fields itself
    return str(exc).splitlines()[0]


def make_config(**fields) -> RunConfig:
    """Build a RunConfig, turning validation errors into one-line ConfigErrors."""
    try:
        return RunConfig(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(first_error(exc)) from None


def diverge_applies(cfg: RunConfig, specs: list) -> bool:
    """Whether `funsearch run` turns forced divergence on when not told: on for evolve runs where it takes effect,
    llama.cpp in completion mode with the classic prompt (`specs`: the ModelSpec of each size). Measured at equal
    modelled cost (docs/search-yield.md, "Forced divergence"): it wins on TSP and bin packing and ties cap set at
    equal samples. Sweeps do not use this: an experiment's arms say what they run (`diverge` in a variant)."""
    return (cfg.backend == "llamacpp" and cfg.mode == "evolve"
            and all(not s.chat and (cfg.prompt or s.prompt) == "classic" for s in specs))
