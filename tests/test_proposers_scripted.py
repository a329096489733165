"""Scripted and replay proposers: order, exhaustion, synthetic usage, stop/length, replay keys and misses."""
from __future__ import annotations

import dataclasses

import pytest

from funsearch.proposers.base import Proposer, ProposerError, SamplingParams
from funsearch.proposers.replay import RecordingProposer, ReplayProposer, completion_key, sample_keys
from funsearch.proposers.scripted import ScriptedProposer


def test_scripted_replays_in_order_across_calls_and_cycles():
    p = ScriptedProposer(["a b", "c", "d e f"], model="s", seconds=0.5)
    assert isinstance(p, Proposer)
    params = SamplingParams(seed=10)
    first = p.complete("one two three", params, n=2)
    second = p.complete("x", params, n=2)
    assert [c.text for c in first + second] == ["a b", "c", "d e f", "a b"]
    assert [c.seed for c in first] == [10, 11]
    assert first[0].usage.prompt_tokens == 3 and first[0].usage.completion_tokens == 2
    assert first[0].usage.seconds == 0.5 and first[0].usage.busy_seconds == 0.5
    assert second[0].usage.completion_tokens == 3 and first[0].model == "s"


def test_scripted_raises_when_exhausted_if_asked():
    p = ScriptedProposer(["only"], when_exhausted="raise")
    assert p.complete("p", SamplingParams())[0].text == "only"
    with pytest.raises(ProposerError, match="exhausted after 1 completions"):
        p.complete("p", SamplingParams())
    with pytest.raises(ProposerError):
        ScriptedProposer([])


def test_scripted_applies_stop_and_max_tokens_keeping_whitespace():
    p = ScriptedProposer(["    return x\n\ndef other():\n    pass", "a\n  b c d e"])
    stop = p.complete("p", SamplingParams(stop=("\ndef ",)))[0]
    assert stop.text == "    return x\n" and stop.finish_reason == "stop"
    cut = p.complete("p", SamplingParams(max_tokens=3))[0]
    assert cut.text == "a\n  b c" and cut.finish_reason == "length" and cut.usage.completion_tokens == 3


def test_completion_key_is_canonical_and_covers_every_field():
    base = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=400, stop=("\ndef ",), seed=3)
    k = completion_key("small", "prompt", base)
    assert k == completion_key("small", "prompt", SamplingParams(0.8, 0.95, 400, ("\ndef ",), 3))
    assert len(k) == 64 and int(k, 16) >= 0
    variants = [completion_key("mid", "prompt", base), completion_key("small", "prompt ", base)]
    for field, value in [("temperature", 0.7), ("top_p", 0.9), ("max_tokens", 401), ("stop", ()), ("seed", 4)]:
        variants.append(completion_key("small", "prompt", dataclasses.replace(base, **{field: value})))
    assert len(set(variants + [k])) == len(variants) + 1


def test_record_then_replay_returns_identical_completions_and_misses_raise():
    cache = {}
    live = RecordingProposer(ScriptedProposer(["x = 1", "y = 2", "z = 3"], model="small"), cache)
    params = SamplingParams(seed=100)
    recorded = live.complete("P", params, n=3)
    assert len(cache) == 3 and set(cache) == set(sample_keys("small", "P", params, 3))
    replay = ReplayProposer(cache, model="small")
    assert replay.complete("P", params, n=3) == recorded
    # the second sample alone, asked for by its own seed
    assert replay.complete("P", dataclasses.replace(params, seed=101))[0].text == "y = 2"
    with pytest.raises(ProposerError, match=r"no recorded completion for model 'small', seed 103"):
        replay.complete("P", params, n=4)
    with pytest.raises(ProposerError, match="no recorded completion"):
        replay.complete("other prompt", params)


def test_factory_builds_scripted_and_rejects_bad_backends():
    from funsearch.proposers.factory import make_proposer
    from funsearch.weights.registry import load_registry

    spec = load_registry()["small"]
    p = make_proposer(spec, "scripted", texts=["pass"], when_exhausted="raise")
    assert isinstance(p, ScriptedProposer) and p.model == "small"
    assert p.complete("x", SamplingParams())[0].text == "pass"
    with pytest.raises(ProposerError, match="unknown backend 'tgi': choose one of llamacpp, openai, vllm, scripted"):
        make_proposer(spec, "tgi")
    with pytest.raises(ProposerError, match="needs base_url"):
        make_proposer(spec, "openai")
    o = make_proposer(spec, "openai", base_url="http://127.0.0.1:9/v1/")
    assert o.url == "http://127.0.0.1:9/v1/completions" and o.served_model == "Qwen/Qwen2.5-Coder-0.5B-Instruct"
    assert o.stop == spec.stop
    o.close()
