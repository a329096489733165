"""The view's data answers, by route and parameters, for the live server and the --html file alike.

Routes: index (what is viewed), version (a stamp that changes when the files do: the page polls it), run,
sample, samples, sweep. Each answer is built from one snapshot of the store and cached under the files' stamp,
so a page that polls a finished run costs a few stat calls. `key` is the canonical form of a request, the same
string the page's JavaScript builds (view/assets/core.js), and the key of each answer in an --html file.
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from urllib.parse import quote

from funsearch.store.run_store import StoreError
from funsearch.view.details import sample_detail, samples_list
from funsearch.view.run_data import run_payload
from funsearch.view.sweep_data import sweep_payload
from funsearch.view.target import Target, TargetError

ROUTES = ("index", "version", "run", "sample", "samples", "sweep")
CACHE_SIZE = 256
URI_SAFE = "!'()*"  # what encodeURIComponent leaves as it is, besides what quote() always leaves


class NotFound(Exception):
    """No such route, cell or sample. One line."""


def key(route: str, params: dict | None = None) -> str:
    """`route?k=v&...` with the non-empty parameters sorted by name and encoded like encodeURIComponent."""
    items = sorted((k, str(v)) for k, v in (params or {}).items() if v is not None and str(v) != "")
    return route + ("?" + "&".join(f"{k}={quote(v, safe=URI_SAFE)}" for k, v in items) if items else "")


class Api:
    """Answers for one target, cached by (request, stamp of the files behind it)."""

    def __init__(self, target: Target, lineage_cap: int | None = None):
        self.target, self.lineage_cap = target, lineage_cap
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, route: str, params: dict) -> dict:
        """The JSON-able answer; NotFound for an unknown route, cell or sample."""
        if route not in ROUTES:
            raise NotFound(f"no such route: {route!r}")
        cell = params.get("cell") or None
        try:
            stamp = self.target.stamp(cell)
        except TargetError as exc:
            raise NotFound(str(exc)) from None
        if route == "version":
            return {"version": hashlib.sha256(repr(stamp).encode()).hexdigest()[:16]}
        if route == "index":
            return {"kind": self.target.kind, "name": self.target.root.name, "cells": self.target.cells()}
        cache_key = (key(route, params), stamp)
        with self._lock:
            if cache_key in self._cache:
                self._cache.move_to_end(cache_key)
                return self._cache[cache_key]
        value = self._build(route, params, cell)
        with self._lock:
            self._cache[cache_key] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def encoded(self, route: str, params: dict) -> bytes:
        return dumps(self.answer(route, params)).encode()

    def _build(self, route: str, params: dict, cell: str | None) -> dict:
        if route == "sweep":
            if self.target.kind != "sweep":
                raise NotFound("not a sweep")
            return sweep_payload(self.target)
        run_dir = self.target.run_dir(cell) if cell or self.target.kind == "run" else None
        if run_dir is None:
            raise NotFound("a sweep's run needs a cell")
        try:
            if route == "run":
                return run_payload(run_dir, self.lineage_cap)
            if route == "sample":
                detail = sample_detail(run_dir, _int(params.get("id"), "id"))
                if detail is None:
                    raise NotFound(f"no sample {params.get('id')}")
                return detail
            return samples_list(run_dir, _int(params.get("offset") or 0, "offset"), params.get("failure"),
                                params.get("model"))
        except StoreError as exc:
            raise NotFound(str(exc)) from None


def dumps(value) -> str:
    """Strict JSON (NaN and infinities become null, anything else unknown becomes its str)."""
    return json.dumps(_finite(value), default=str, allow_nan=False)


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _int(value, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound(f"{name} must be a whole number, not {value!r}") from None
