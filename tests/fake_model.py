"""A stand-in for weights.registry.ModelSpec with just what the cost model reads (cost.roofline.ModelLike)."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FakeSpec:
    """Small, round architecture numbers so tests can compute the cost model's answers by hand."""

    name: str = "m"
    params_b: float = 1.0
    layers: int = 2
    kv_heads: int = 2
    head_dim: int = 4
    context: int = 16
    bytes_per_param: dict = field(default_factory=lambda: {"q": 0.5})
