"""STA-024 subscribe/notify bookkeeping, without a socket: subscriptions, one notify per change,
acknowledgement by transactionId, resends up to a bound then a drop, and resubscription."""

import itertools
from typing import Any

import pytest

from consumers import dispatch_subscriptions as ds

INCIDENT = "inc-7"
CHANGE = ds.Change(INCIDENT, frozenset({INCIDENT, "urn:emergency:uid:incidentid:cad9:psap.gov",
                                        "CAD-2026-0412"}),
                   frozenset({"unit12@pd.gov", "adam-12"}))


def book(resend_s: float = 1.0, resends: int = 2) -> ds.Book:
    counter = itertools.count(1)
    return ds.Book(resend_s, resends, make_id=lambda: f"id{next(counter)}")


def doc(status: str, at: str = "2026-03-12T10:12:00Z") -> dict[str, Any]:
    """An EIDO-shaped document: what changes is its status; its update times do not count."""
    return {"$id": "urn:emergency:uid:incidentid:inc-7:muster", "lastUpdateTimeStamp": at,
            "incidentComponent": {"lastUpdateTimeStamp": at,
                                  "incidentStatusCommonRegistryText": [status]}}


def subscribe(b: ds.Book, **body: Any) -> ds.Subscription:
    spec = ds.parse_subscribe({"requestId": "r1", "requestType": "EIDO", **body})
    assert isinstance(spec, ds.Subscription), spec
    return b.add(spec)


@pytest.mark.parametrize(("body", "code", "says"), [
    ({"requestSubType": "new"}, 400, "requestType"),
    ({"requestType": "CAP", "requestSubType": "new"}, 400, "requestType"),
    ({"requestType": "EIDO", "requestSubType": "all"}, 400, "requestSubType"),
    ({"requestType": "EIDO", "requestSubType": "single"}, 400, "incidentId"),
    ({"requestType": "EIDO", "requestSubType": "resource", "unitId": ""}, 400, "unitId"),
    ({"requestType": "EIDO", "requestSubType": "single", "incidentId": "x", "qualFilter": "f"},
     400, "qualFilter"),
])
def test_a_subscribe_missing_what_its_subtype_needs_is_refused_naming_it(
        body: dict[str, Any], code: int, says: str) -> None:
    refused = ds.parse_subscribe({"requestId": "r1", **body})
    assert isinstance(refused, ds.Problem)
    assert refused.code == code and says in refused.text


def test_each_subtype_is_read_from_its_subscribe() -> None:
    b = book()
    single = subscribe(b, requestSubType="single", incidentId=INCIDENT)
    new = subscribe(b, requestSubType="new", qualFilter="<filter_string>")
    resource = subscribe(b, requestSubType="resource", unitId="Unit12@PD.gov")
    assert (single.sub_type, single.incident_id, single.unit_id) == ("single", INCIDENT, None)
    assert (new.sub_type, new.incident_id, new.unit_id) == ("new", None, None)
    assert (resource.sub_type, resource.unit_id) == ("resource", "unit12@pd.gov")
    assert len({single.id, new.id, resource.id}) == 3
    assert set(b.subscriptions) == {single.id, new.id, resource.id}


def test_a_single_subscription_hears_of_its_incident_by_any_id_it_goes_by() -> None:
    b = book()
    other = ds.Change("inc-8", frozenset({"inc-8"}), frozenset())
    for incident_id in (INCIDENT, "CAD-2026-0412", "urn:emergency:uid:incidentid:cad9:psap.gov",
                        "urn:emergency:uid:incidentid:inc-7:muster.school"):
        sub = subscribe(b, requestSubType="single", incidentId=incident_id)
        assert b.wants(sub, CHANGE), incident_id
        assert not b.wants(sub, other), incident_id
    assert ds.tracked_id("urn:emergency:uid:incidentid:inc-7:muster") == INCIDENT
    assert ds.tracked_id("inc-7") == INCIDENT


def test_a_new_subscription_hears_of_every_incident() -> None:
    b = book()
    sub = subscribe(b, requestSubType="new")
    assert b.matching(CHANGE) == [sub]
    assert b.matching(ds.Change("inc-8", frozenset({"inc-8"}), frozenset())) == [sub]


def test_a_resource_subscription_follows_its_unit_until_it_has_heard_the_unit_left() -> None:
    b = book()
    sub = subscribe(b, requestSubType="resource", unitId="ADAM-12")
    unit_gone = CHANGE._replace(units=frozenset())
    assert not b.wants(sub, unit_gone)  # never on it: nothing to say
    assert b.notify(sub, CHANGE, doc("ResourcesEnroute"), 0.0) is not None
    assert b.wants(sub, unit_gone)  # it was on it: the change that takes it off is news
    assert b.notify(sub, unit_gone, doc("ResourcesAssigned"), 0.1) is not None
    assert not b.wants(sub, unit_gone)


def test_each_change_is_one_notify_carrying_the_document_with_a_fresh_transaction() -> None:
    b = book()
    sub = subscribe(b, requestSubType="single", incidentId=INCIDENT)
    first = b.notify(sub, CHANGE, doc("Active"), 0.0)
    same = b.notify(sub, CHANGE, doc("Active", at="2026-03-12T10:13:00Z"), 0.1)
    second = b.notify(sub, CHANGE, doc("ResourcesOnscene"), 0.2)
    assert first is not None and second is not None
    assert same is None  # only its update times differ: nothing new to say
    assert first["event"]["subscriptionId"] == sub.id
    assert first["event"]["notification"] == [doc("Active")]
    assert second["event"]["notification"] == [doc("ResourcesOnscene")]
    assert first["event"]["transactionId"] != second["event"]["transactionId"]


def test_an_acknowledged_notify_is_never_sent_again() -> None:
    b = book(resend_s=1.0, resends=2)
    sub = subscribe(b, requestSubType="new")
    message = b.notify(sub, CHANGE, doc("Active"), 0.0)
    assert message is not None
    assert b.ack(message["event"]["transactionId"])
    assert not b.ack(message["event"]["transactionId"])  # twice: the second is no news
    assert not b.ack("never-sent")
    assert b.due(10.0) == ([], [])
    assert b.next_due() is None


def test_an_unacknowledged_notify_is_resent_as_is_up_to_the_bound_then_dropped() -> None:
    b = book(resend_s=1.0, resends=2)
    sub = subscribe(b, requestSubType="single", incidentId=INCIDENT)
    message = b.notify(sub, CHANGE, doc("Active"), 0.0)
    assert message is not None
    assert b.next_due() == 1.0
    assert b.due(0.9) == ([], [])  # not yet
    assert b.due(1.0) == ([message], [])
    assert b.due(1.5) == ([], [])  # the period counts from the resend
    assert b.due(2.0) == ([message], [])
    again, ended = b.due(3.0)  # unacknowledged after the second resend: dropped
    assert again == []
    assert [t["terminate"]["subscriptionId"] for t in ended] == [sub.id]
    assert "2 resends" in ended[0]["terminate"]["reason"]
    assert ended[0]["terminate"]["requestId"]
    assert sub.id not in b.subscriptions and b.pending == {}
    assert b.matching(CHANGE) == []
    assert b.due(10.0) == ([], [])


def test_a_newer_notify_replaces_the_unacknowledged_one_of_the_same_incident() -> None:
    b = book(resend_s=1.0, resends=5)
    sub = subscribe(b, requestSubType="new")
    older = b.notify(sub, CHANGE, doc("Active"), 0.0)
    newer = b.notify(sub, CHANGE, doc("ResourcesOnscene"), 0.5)
    other = b.notify(sub, ds.Change("inc-8", frozenset({"inc-8"}), frozenset()), doc("Active"),
                     0.5)
    assert older is not None and newer is not None and other is not None
    assert b.due(1.5) == ([newer, other], [])  # never the older state again
    assert not b.ack(older["event"]["transactionId"])
    assert b.ack(newer["event"]["transactionId"]) and b.ack(other["event"]["transactionId"])


def test_one_subscription_dropped_leaves_the_others_of_the_connection() -> None:
    b = book(resend_s=1.0, resends=0)
    quiet = subscribe(b, requestSubType="new")
    answering = subscribe(b, requestSubType="single", incidentId=INCIDENT)
    b.notify(quiet, CHANGE, doc("Active"), 0.0)
    acked = b.notify(answering, CHANGE, doc("Active"), 0.0)
    assert acked is not None and b.ack(acked["event"]["transactionId"])
    again, ended = b.due(1.0)
    assert again == [] and [t["terminate"]["subscriptionId"] for t in ended] == [quiet.id]
    assert list(b.subscriptions) == [answering.id]


def test_a_resubscription_is_sent_the_current_state_at_once() -> None:
    b = book(resend_s=1.0, resends=0)
    sub = subscribe(b, requestSubType="single", incidentId=INCIDENT)
    assert b.notify(sub, CHANGE, doc("Active"), 0.0) is not None
    _, ended = b.due(1.0)
    assert ended and b.renewable(sub.id) == sub  # dropped, still renewable by its id
    renewed = b.add(sub, sub.id)
    assert renewed.id == sub.id
    current = b.notify(renewed, CHANGE, doc("Active"), 2.0)
    assert current is not None and current["event"]["notification"] == [doc("Active")]
    fresh = subscribe(b, requestSubType="single", incidentId=INCIDENT)
    assert fresh.id != sub.id and b.notify(fresh, CHANGE, doc("Active"), 2.0) is not None


def test_an_unsubscribed_subscription_hears_nothing_more() -> None:
    b = book()
    sub = subscribe(b, requestSubType="new")
    b.notify(sub, CHANGE, doc("Active"), 0.0)
    assert b.remove(sub.id) == sub
    assert b.remove(sub.id) is None
    assert b.matching(CHANGE) == [] and b.due(5.0) == ([], [])


def test_the_answers_carry_the_request_and_the_status() -> None:
    assert ds.subscribe_response("r1", 200, "OK", "s1") == {"subscribeResponse": {
        "requestId": "r1", "statusCode": 200, "statusText": "OK", "subscriptionId": "s1"}}
    assert "subscriptionId" not in ds.subscribe_response("r1", 404, "no")["subscribeResponse"]
    assert ds.unsubscribe_response("r2", "s9", False)["unsubscribeResponse"]["statusCode"] == 481
    assert ds.not_implemented("r3") == {"response": {"requestId": "r3", "statusCode": 501,
                                                     "statusText": "Not implemented"}}


def test_units_are_read_by_id_and_name_lower_cased() -> None:
    dispatch = {"units": [{"id": "Unit12@PD.gov", "name": "Adam-12", "status": "en_route"},
                          {"name": "Medic 3"}]}
    assert ds.units_of(dispatch) == {"unit12@pd.gov", "adam-12", "medic 3"}
    assert ds.units_of(None) == frozenset()
