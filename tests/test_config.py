"""Run configs: sizes parse from a comma list, bad fields give one line naming the field, round-trip to disk."""
import pytest

from funsearch.config import ConfigError, RunConfig, make_config


def test_sizes_from_comma_list_and_counts():
    cfg = make_config(problem="p.py", model_sizes="small, mid", pool_counts=(1, 2))
    assert cfg.model_sizes == ("small", "mid")
    assert cfg.counts() == {"small": 1, "mid": 2}


def test_mismatched_counts_name_the_field():
    cfg = make_config(problem="p.py", model_sizes="small,mid", pool_counts=(1,))
    with pytest.raises(ConfigError, match="pool_counts"):
        cfg.counts()


def test_invalid_field_is_named():
    with pytest.raises(ConfigError, match="^islands: "):
        make_config(problem="p.py", islands=0)
    with pytest.raises(ConfigError, match="backend"):
        make_config(problem="p.py", backend="gpt5")


def test_save_load_round_trip(tmp_path):
    cfg = make_config(problem="p.py", seed=7, samples=3)
    cfg.save(tmp_path / "config.json")
    assert RunConfig.load(tmp_path / "config.json") == cfg
    (tmp_path / "bad.json").write_text('{"problem": "p.py", "seed": "x"}')
    with pytest.raises(ConfigError, match="seed"):
        RunConfig.load(tmp_path / "bad.json")


def test_run_turns_divergence_on_only_where_it_takes_effect():
    from funsearch.config import diverge_applies
    from funsearch.weights.registry import resolve_model

    small, tiny = resolve_model("small"), resolve_model("tiny")  # completion mode; chat mode
    cfg = lambda **kw: make_config(problem="problems/bin_packing.py", model_sizes="small", **kw)  # noqa: E731
    assert diverge_applies(cfg(), [small])
    assert not diverge_applies(cfg(), [small, tiny])  # a chat model ignores the logits processor
    assert not diverge_applies(cfg(prompt="edit"), [small])  # only the classic prompt carries a divergence
    assert not diverge_applies(cfg(mode="best_of_n"), [small])  # the baseline stays the plain loop
    assert not diverge_applies(cfg(backend="scripted", scripted_file="x.json"), [small])
