"""The read path: cached responses of finished runs, ETag / 304, key memory, batched audits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from api.cache import IMMUTABLE, REVALIDATE, Cached, ResponseCache, etag_of, not_modified
from api.security import KeyRing, Principal, hash_key
from scenarios.models import ApiKey
from scenarios.store import Store
from tests.api.conftest import Api, open_api
from tests.scenarios.fakes import fake_registry


def _finished_run(api: Api, dataset_id: str, seed: int = 0, name: str = "today") -> str:
    sc = api.scenario(dataset_id, name=name)
    run = api.run(sc["id"], kind="catchment", seed=seed)
    assert api.wait(run["id"])["status"] == "done"
    return str(run["id"])


def _request(if_none_match: str | None) -> Request:
    headers = [] if if_none_match is None else [(b"if-none-match", if_none_match.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


# -- the cache itself ---------------------------------------------------------------------
def test_cache_evicts_least_recently_used_by_bytes() -> None:
    cache = ResponseCache(max_bytes=10)
    cache.put("a", Cached(b"aaaa", "text/plain", ()))
    cache.put("b", Cached(b"bbbb", "text/plain", ()))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", Cached(b"cccc", "text/plain", ()))  # 12 bytes > 10: b goes
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert cache.size == 8 and len(cache) == 2
    big = Cached(b"x" * 11, "text/plain", ())
    assert cache.put("big", big) is big and cache.get("big") is None  # never kept
    assert ResponseCache(0).put("a", Cached(b"a", "t", ())).content == b"a"


def test_a_concurrent_second_put_keeps_the_first_entry() -> None:
    cache = ResponseCache(100)
    first = cache.put("k", Cached(b"one", "text/plain", ()))
    assert cache.put("k", Cached(b"one", "text/plain", ())) is first


def test_etag_is_a_quoted_digest_of_the_bytes() -> None:
    tag = Cached(b"hello", "text/plain", ()).etag
    assert tag == etag_of(b"hello") and tag.startswith('"') and tag.endswith('"')
    assert len(tag) == 34 and etag_of(b"hello!") != tag


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abd"', False),
    ],
)
def test_if_none_match(header: str | None, expected: bool) -> None:
    assert not_modified(_request(header), '"abc"') is expected


# -- routes -------------------------------------------------------------------------------
def test_finished_run_has_an_etag_and_answers_304(api: Api, dataset_id: str) -> None:
    rid = _finished_run(api, dataset_id)
    analyst = api.as_("analyst")
    for path in (
        f"/v1/runs/{rid}",
        f"/v1/runs/{rid}/map.png",
        f"/v1/runs/{rid}/assignment?format=json",
        f"/v1/runs/{rid}/assignment?format=csv",
        f"/v1/runs/{rid}/files/summary.json",
    ):
        first = api.client.get(path, headers=analyst)
        assert first.status_code == 200, path
        assert first.headers["cache-control"] == IMMUTABLE
        tag = first.headers["etag"]
        assert tag == etag_of(first.content)
        again = api.client.get(path, headers={**analyst, "If-None-Match": tag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
        stale = api.client.get(path, headers={**analyst, "If-None-Match": '"other"'})
        assert stale.status_code == 200 and stale.content == first.content
    csv_ = api.client.get(f"/v1/runs/{rid}/assignment?format=csv", headers=analyst)
    assert csv_.headers["content-disposition"] == f'attachment; filename="{rid}-assignment.csv"'
    assert (
        csv_.headers["etag"]
        != api.client.get(f"/v1/runs/{rid}/assignment?format=json", headers=analyst).headers["etag"]
    )
    files = api.client.get(f"/v1/runs/{rid}/files/map.png", headers=analyst)
    assert "content-disposition" in files.headers  # not the map route's cached entry
    assert (
        "content-disposition"
        not in api.client.get(f"/v1/runs/{rid}/map.png", headers=analyst).headers
    )


def test_a_run_in_progress_is_read_fresh_every_time(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id)
    run = api.run(sc["id"], kind="catchment", settings={"steps": 30, "step_seconds": 0.02})
    body = api.client.get(f"/v1/runs/{run['id']}", headers=api.as_("planner"))
    assert body.json()["status"] in ("queued", "running")
    assert body.headers["cache-control"] == REVALIDATE
    assert api.wait(run["id"])["status"] == "done"  # not a stale cached "running"
    done = api.client.get(f"/v1/runs/{run['id']}", headers=api.as_("planner"))
    assert done.json()["status"] == "done" and done.headers["cache-control"] == IMMUTABLE


def test_results_of_a_run_not_done_are_not_cached(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id)
    run = api.run(sc["id"], kind="catchment", settings={"steps": 30, "step_seconds": 0.02})
    r = api.client.get(f"/v1/runs/{run['id']}/map.png", headers=api.as_("planner"))
    assert r.status_code == 409
    api.wait(run["id"])
    assert (
        api.client.get(f"/v1/runs/{run['id']}/map.png", headers=api.as_("planner")).status_code
        == 200
    )


def test_compare_is_cached_by_ids_in_order(api: Api, dataset_id: str) -> None:
    a = _finished_run(api, dataset_id, seed=0, name="a")
    b = _finished_run(api, dataset_id, seed=1, name="b")
    analyst = api.as_("analyst")
    ab = api.client.get("/v1/compare", params={"runs": f"{a},{b}"}, headers=analyst)
    ba = api.client.get("/v1/compare", params={"runs": f"{b},{a}"}, headers=analyst)
    assert ab.status_code == ba.status_code == 200
    assert ab.json()["unit_differences"][0]["a"] == a and ba.json()["unit_differences"][0]["a"] == b
    again = api.client.get("/v1/compare", params={"runs": f"{a},{b}"}, headers=analyst)
    assert again.content == ab.content and again.headers["etag"] == ab.headers["etag"]
    assert ab.headers["cache-control"] == IMMUTABLE
    r304 = api.client.get(
        "/v1/compare",
        params={"runs": f"{a},{b}"},
        headers={**analyst, "If-None-Match": ab.headers["etag"]},
    )
    assert r304.status_code == 304


def test_cached_personal_results_still_need_the_role(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id, role="hr")
    run = api.run(sc["id"], role="hr", kind="rotation")
    api.wait(run["id"], role="hr")
    for path in ("/rotation", "/files/summary.json"):
        # hr fills the cache twice, then the analyst is refused from the cached entry
        for _ in range(2):
            assert (
                api.client.get(f"/v1/runs/{run['id']}{path}", headers=api.as_("hr")).status_code
                == 200
            )
        r = api.client.get(f"/v1/runs/{run['id']}{path}", headers=api.as_("analyst"))
        assert r.status_code == 403, path
        assert "may not read teacher personal data" in r.json()["detail"]
    # issue #6: the run itself is readable by the analyst, but never from hr's cached full body
    full = api.client.get(f"/v1/runs/{run['id']}", headers=api.as_("hr"))
    agg = api.client.get(f"/v1/runs/{run['id']}", headers=api.as_("analyst"))
    assert agg.status_code == 200 and agg.json()["files"] == []
    assert full.json()["files"] and full.headers["etag"] != agg.headers["etag"]
    other = _finished_run(api, dataset_id, name="planning")
    api.client.get("/v1/compare", params={"runs": f"{other},{run['id']}"}, headers=api.as_("hr"))
    r = api.client.get(
        "/v1/compare", params={"runs": f"{other},{run['id']}"}, headers=api.as_("analyst")
    )
    assert r.status_code == 200  # aggregate KPIs only, the same body for every reader


def test_verified_keys_are_remembered_and_revocation_is_immediate(api: Api) -> None:
    store: Store = api.client.app.state.store  # type: ignore[attr-defined]
    calls: list[str] = []
    original = store.key_by_hash

    def counting(key_hash: str) -> Any:
        calls.append(key_hash)
        return original(key_hash)

    store.key_by_hash = counting  # type: ignore[method-assign]
    analyst = api.as_("analyst")
    for _ in range(5):
        assert api.client.get("/v1/runs", headers=analyst).status_code == 200
    assert len(calls) == 1  # only the first request asks the store
    key_id = next(
        k["id"]
        for k in api.client.get("/v1/keys", headers=api.as_("admin")).json()["data"]
        if k["role"] == "analyst"
    )
    assert api.client.delete(f"/v1/keys/{key_id}", headers=api.as_("admin")).status_code == 200
    r = api.client.get("/v1/runs", headers=analyst)
    assert r.status_code == 401 and r.json()["detail"] == "invalid or revoked API key"
    bad = api.client.get("/v1/runs", headers={"Authorization": "Bearer sp_unknown"})
    assert bad.status_code == 401


def test_downloads_are_audited_in_order_through_the_queue(api: Api, dataset_id: str) -> None:
    rid = _finished_run(api, dataset_id)
    analyst = api.as_("analyst")
    api.client.get(f"/v1/runs/{rid}/map.png", headers=analyst)
    api.client.get(f"/v1/runs/{rid}/assignment", headers=analyst)
    etag = api.client.get(f"/v1/runs/{rid}/map.png", headers=analyst).headers["etag"]
    api.client.get(f"/v1/runs/{rid}/map.png", headers={**analyst, "If-None-Match": etag})
    api.client.get(f"/v1/runs/{rid}", headers=analyst)  # a status poll: no audit row
    rows = api.client.get("/v1/audit", headers=api.as_("admin")).json()["data"]
    mine = [(e["action"], e["target_id"]) for e in rows if e["role"] == "analyst"]
    # newest first; the 304 is a download too (the caller already had the bytes)
    assert mine == [
        ("download_map", rid),
        ("download_map", rid),
        ("download_assignment", rid),
        ("download_map", rid),
    ]
    assert rows[-1]["action"] == "create_key"  # the log starts with the fixture's keys


def test_queued_audit_rows_are_written_at_shutdown(tmp_path: Path, tiny_zip: bytes) -> None:
    data = tmp_path / "data"
    client, api = open_api(data, fake_registry(), audit_flush_interval=3600.0)
    try:
        ds = api.upload(tiny_zip).json()["id"]
        rid = _finished_run(api, ds)
        assert (
            api.client.get(f"/v1/runs/{rid}/map.png", headers=api.as_("analyst")).status_code == 200
        )
        service = client.app.state.service  # type: ignore[attr-defined]
        assert service.audit_log.pending() == 1  # queued, not yet written (interval 1 h)
    finally:
        client.__exit__(None, None, None)
    store = Store.open(f"sqlite:///{(data / 'schoolplan.db').resolve()}")
    try:
        rows, _ = store.list_audit(action="download_map")
        assert [(r.action, r.target_id, r.role) for r in rows] == [("download_map", rid, "analyst")]
    finally:
        store.close()


@settings(max_examples=60, deadline=None)
@given(
    max_bytes=st.integers(0, 64),
    sizes=st.lists(st.integers(0, 40), min_size=10, max_size=10),
    ops=st.lists(st.integers(0, 9), max_size=60),
)
def test_cache_never_holds_more_than_its_bound(
    max_bytes: int, sizes: list[int], ops: list[int]
) -> None:
    cache = ResponseCache(max_bytes)
    for key in ops:
        body = bytes([key]) * sizes[key]  # a key's bytes never change
        assert cache.put(key, Cached(body, "t", ())).content == body
        held = {k: cache.get(k) for k in range(10)}
        assert cache.size == sum(len(e.content) for e in held.values() if e) <= max_bytes
        assert (held[key] is not None) == (sizes[key] <= max_bytes)  # the newest always fits


class _Keys:
    """A stand-in store with one analyst key; counts lookups."""

    def __init__(self, key: str) -> None:
        self.record = ApiKey(
            id="key_1", name="k", role="analyst", key_hash=hash_key(key), prefix=key[:8]
        )
        self.lookups = 0

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        self.lookups += 1
        return self.record if key_hash == self.record.key_hash else None


def test_key_memory_expires_after_its_ttl() -> None:
    store = _Keys("sp_k")
    ring = KeyRing(store, "sp_admin", ttl=0.05)  # type: ignore[arg-type]
    assert ring.identify("sp_admin") == Principal("admin", "admin") and store.lookups == 0
    assert ring.cached("sp_k") is None
    assert ring.identify("sp_k") == Principal("key_1", "analyst") and store.lookups == 1
    assert ring.identify("sp_k") is not None and store.lookups == 1  # from memory
    time.sleep(0.06)
    assert ring.cached("sp_k") is None
    assert ring.identify("sp_k") is not None and store.lookups == 2
    assert ring.identify("sp_nope") is None and ring.identify("sp_nope") is None
    assert store.lookups == 4  # unknown keys are never remembered
    ring.forget("key_1")
    assert ring.cached("sp_k") is None
    no_memory = KeyRing(store, "sp_admin", ttl=0)  # type: ignore[arg-type]
    no_memory.identify("sp_k")
    no_memory.identify("sp_k")
    assert store.lookups == 6
