import threading
from datetime import timedelta

import pytest

from dealer_sync.store import Intent, OutboxStatus, idempotency_key
from dealer_sync.store.outbox import DuplicateEffectError
from dealer_sync.timeutil import utcnow


def intents(n: int, system: str = "zoho_books", version: int = 1) -> list[Intent]:
    return [
        Intent(system, "invoice", f"ord-{i}", version, f"INV-{i:05d}", {"order": f"ord-{i}"})
        for i in range(n)
    ]


def test_the_key_is_deterministic_and_names_system_entity_source_and_version():
    assert idempotency_key("zoho_books", "invoice", "ord-1", 3) == "zoho_books:invoice:ord-1:v3"
    assert intents(1)[0].key == "zoho_books:invoice:ord-0:v1"


def test_recording_an_intent_twice_keeps_one_row(store):
    assert store.outbox.record_intents(intents(3)) == 3
    assert store.outbox.record_intents(intents(3)) == 0
    assert store.outbox.counts() == {"pending": 3}
    # an edited order is a new version and so a new effect
    assert store.outbox.record_intents(intents(1, version=2)) == 1


def test_claim_then_complete_records_the_external_id(store):
    store.outbox.record_intents(intents(2))
    claims = store.outbox.claim("zoho_books", "invoice", "worker-a", limit=10)
    assert [c.reference for c in claims] == ["INV-00000", "INV-00001"]
    assert all(c.attempts == 1 and not c.needs_lookup for c in claims)
    assert store.outbox.claim("zoho_books", "invoice", "worker-b") == []  # nothing left to claim

    store.outbox.complete(claims[0].key, "982000000567114")
    state = store.outbox.get(claims[0].key)
    assert state.status is OutboxStatus.DONE and state.external_id == "982000000567114"
    store.outbox.complete(claims[0].key, "982000000567114")  # recording it again is harmless
    with pytest.raises(DuplicateEffectError, match="already written as 982000000567114"):
        store.outbox.complete(claims[0].key, "982000000999999")


def test_a_claim_whose_worker_died_is_reclaimed_after_the_lease_and_needs_a_lookup(store):
    store.outbox.record_intents(intents(1))
    first = store.outbox.claim("zoho_books", "invoice", "worker-a", lease_seconds=60)
    assert store.outbox.claim("zoho_books", "invoice", "worker-b") == []  # lease still held
    later = utcnow() + timedelta(seconds=61)
    second = store.outbox.claim("zoho_books", "invoice", "worker-b", now=later)
    assert [c.key for c in second] == [first[0].key]
    assert second[0].attempts == 2 and second[0].needs_lookup
    # the dead worker's late release is refused: the claim is no longer its own
    assert not store.outbox.defer(first[0].key, "worker-a", "timeout")


def test_deferred_writes_wait_until_their_retry_time(store):
    store.outbox.record_intents(intents(1))
    claim = store.outbox.claim("zoho_books", "invoice", "w")[0]
    assert store.outbox.defer(claim.key, "w", "429 rate limited", retry_after_seconds=30)
    assert store.outbox.get(claim.key).last_error == "429 rate limited"
    assert store.outbox.claim("zoho_books", "invoice", "w") == []
    due = store.outbox.claim("zoho_books", "invoice", "w", now=utcnow() + timedelta(seconds=31))
    assert [c.key for c in due] == [claim.key]


def test_failed_writes_stay_failed_until_reopened_for_a_replay(store):
    store.outbox.record_intents(intents(1))
    claim = store.outbox.claim("zoho_books", "invoice", "w")[0]
    assert store.outbox.fail(claim.key, "w", "400 unknown customer")
    assert store.outbox.claim("zoho_books", "invoice", "w") == []
    assert store.outbox.reopen([claim.key]) == 1
    assert [c.key for c in store.outbox.claim("zoho_books", "invoice", "w")] == [claim.key]


def test_claims_are_limited_to_the_target_system_and_the_given_keys(store):
    store.outbox.record_intents(intents(3) + intents(2, system="zoho_inventory"))
    wanted = [intents(3)[2].key]
    assert [c.key for c in store.outbox.claim("zoho_books", "invoice", "w", keys=wanted)] == wanted
    assert len(store.outbox.claim("zoho_inventory", "invoice", "w")) == 2


def test_concurrent_claimers_never_get_the_same_row(store):
    """Four workers drain 400 intents in batches; every intent is claimed exactly once."""
    store.outbox.record_intents(intents(400))
    claimed: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    # All four start claiming together: on a loaded machine a thread started late could find the
    # 58 claims already made by the first, and "the work was shared" would fail for no fault of ours.
    start = threading.Barrier(4, timeout=30)

    def drain(worker: str) -> None:
        mine: list[str] = []
        try:
            start.wait()
            for _ in range(200):  # bounded: 400 rows / batches of 7 needs far fewer rounds
                batch = store.outbox.claim("zoho_books", "invoice", worker, limit=7)
                if not batch:
                    break
                mine.extend(c.key for c in batch)
        except BaseException as exc:  # surface thread failures in the test
            errors.append(exc)
        claimed[worker] = mine

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    everything = [key for keys in claimed.values() for key in keys]
    assert len(everything) == len(set(everything)) == 400
    assert sum(1 for keys in claimed.values() if keys) >= 2  # the work really was shared


def test_a_completed_write_carries_its_audit_entry_even_when_it_is_a_duplicate(store):
    from dealer_sync.store import AuditEvent

    store.outbox.record_intents(intents(1))
    (claim,) = store.outbox.claim("zoho_books", "invoice", "worker-a")

    def event(external_id: str) -> AuditEvent:
        return AuditEvent("zoho_books", "create", "invoice", "ord-0", "created", claim.key, external_id)

    store.outbox.complete(claim.key, "982000000567114", audit=event("982000000567114"))
    assert store.audit.count(outcome="created") == 1
    with pytest.raises(DuplicateEffectError):
        store.outbox.complete(claim.key, "982000000999999", audit=event("982000000999999"))
    assert store.audit.count(outcome="created") == 2  # the copy in the target is on record too
    with pytest.raises(KeyError):
        store.outbox.complete("zoho_books:invoice:nope:v1", "1", audit=event("1"))
