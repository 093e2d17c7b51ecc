"""The payment rules on Stripe values: no moto, no HTTP, no DynamoDB."""

import pytest

from lectern.payments import rules
from lectern.payments.stripe_values import (
    ChargeValue, CheckoutSessionValue, DisputeValue, InvalidStripeObject, RefundValue,
)

ITEMS = [("price_a", 1, 4900), ("price_b", 2, 1000)]


def session(**changes):
    raw = {"id": "cs_1", "currency": "eur", "amount_subtotal": 6900, "amount_total": 6900,
           "total_details": {"amount_discount": 0, "amount_tax": 0, "amount_shipping": 0},
           "payment_status": "paid", "payment_intent": {"id": "pi_1"}, "customer": "cus_1",
           "metadata": {"order_id": "o1"}, "discounts": []}
    lines = changes.pop("lines", [{"price": {"id": "price_a", "unit_amount": 4900}, "quantity": 1},
                                  {"price": {"id": "price_b", "unit_amount": 1000}, "quantity": 2}])
    totals = changes.pop("totals", {})
    raw.update(changes)
    raw["total_details"] = {**raw["total_details"], **totals}
    return CheckoutSessionValue.from_stripe(raw, lines)


def problems(value, items=ITEMS, promotion_code_id=None, currency="EUR"):
    return rules.session_problems(value, currency=currency, items=items, promotion_code_id=promotion_code_id)


def test_the_rules_need_no_aws_nor_stripe():
    import lectern.payments.rules as module
    import lectern.payments.stripe_values as values
    for loaded in (module, values):
        names = {getattr(v, "__name__", "").split(".")[0] for v in vars(loaded).values()}
        assert not names & {"moto", "boto3", "botocore", "pynamodb", "stripe"}


def test_a_matching_session_has_no_problem():
    value = session()
    assert value.payment_intent_id == "pi_1" and value.customer_id == "cus_1" and value.order_id_hint == "o1"
    assert problems(value) == []


@pytest.mark.parametrize("changes, expected", [
    ({"currency": "usd"}, ["currency"]),
    ({"lines": [{"price": {"id": "price_a", "unit_amount": 4900}, "quantity": 1}]}, ["line_items"]),
    ({"lines": [{"price": {"id": "price_x", "unit_amount": 4900}, "quantity": 1},
                {"price": {"id": "price_b", "unit_amount": 1000}, "quantity": 2}]}, ["line_items"]),
    ({"amount_subtotal": 100, "amount_total": 100}, ["amount_subtotal"]),
    ({"amount_total": 1}, ["amount_total"]),
    ({"amount_subtotal": None}, ["amount_subtotal", "amount_total"]),
])
def test_mismatches(changes, expected):
    assert problems(session(**changes)) == expected


def test_items_without_price_ids_compare_quantity_and_amount_only():
    items = [(None, 1, 4900), (None, 2, 1000)]
    assert problems(session(), items=items) == []
    assert problems(session(lines=[{"price": "price_z", "quantity": 1}]), items=items) == ["line_items"]


def test_discounts_need_a_promotion_code_and_the_orders_own():
    discounted = dict(amount_total=5900, totals={"amount_discount": 1000})
    assert problems(session(**discounted, discounts=[{"promotion_code": "promo_1"}])) == []
    assert problems(session(**discounted, discounts=[{"promotion_code": {"id": "promo_1"}}]),
                    promotion_code_id="promo_1") == []
    assert problems(session(**discounted, discounts=[{"promotion_code": "promo_2"}]),
                    promotion_code_id="promo_1") == ["discount"]
    assert problems(session(**discounted, discounts=[{"coupon": "co_1"}])) == ["discount"]
    assert problems(session(**discounted)) == ["discount"]
    too_much = dict(amount_total=-100, totals={"amount_discount": 7000}, discounts=[{"promotion_code": "p"}])
    assert problems(session(**too_much)) == ["amount_total"]


def test_tax_and_shipping_add_to_the_total():
    assert problems(session(amount_total=7400, totals={"amount_tax": 400, "amount_shipping": 100})) == []


@pytest.mark.parametrize("status, paid", [("paid", True), ("no_payment_required", True), ("unpaid", False)])
def test_paid_statuses(status, paid):
    assert rules.is_paid(session(payment_status=status)) is paid


def charge(**changes):
    raw = {"id": "ch_1", "payment_intent": "pi_1", "amount": 5000, "amount_refunded": 0, "refunded": False,
           "metadata": {"order_id": "o1"}, "refunds": None}
    raw.update(changes)
    return ChargeValue.from_stripe(raw)


def test_full_and_partial_refunds():
    assert not rules.is_full_refund(charge(amount_refunded=1000))
    assert rules.is_full_refund(charge(amount_refunded=5000))
    assert rules.is_full_refund(charge(amount_refunded=1000, refunded=True))
    assert charge().refunds is None and charge().order_id_hint == "o1"


def test_embedded_refunds_are_read_only_when_complete():
    data = [{"id": "re_1", "amount": 100, "status": "succeeded", "currency": "eur"}]
    assert charge(refunds={"data": data, "has_more": False}).refunds == (RefundValue("re_1", 100, "succeeded", "eur"),)
    assert charge(refunds={"data": data, "has_more": True}).refunds is None


@pytest.mark.parametrize("status, counts", [("succeeded", True), ("pending", True), ("requires_action", True),
                                            ("failed", False), ("canceled", False), (None, False)])
def test_which_refunds_count(status, counts):
    assert rules.refund_counts(RefundValue("re_1", 100, status, None)) is counts


@pytest.mark.parametrize("status, blocks, won", [
    ("needs_response", True, False), ("under_review", True, False), ("warning_needs_response", True, False),
    ("lost", True, False), ("won", False, True), ("warning_closed", False, True), (None, False, False)])
def test_dispute_statuses(status, blocks, won):
    assert rules.dispute_blocks_access(status) is blocks
    if status:
        assert rules.dispute_won(status) is won


def test_dispute_value():
    value = DisputeValue.from_stripe({"id": "du_1", "status": "lost", "charge": {"id": "ch_1"},
                                      "payment_intent": None, "metadata": None})
    assert (value.charge_id, value.payment_intent_id, value.order_id_hint) == ("ch_1", None, None)


def test_payment_ownership():
    assert rules.owns_payment(recorded_payment_intent_id="pi_1", payment_intent_id="pi_1")
    assert not rules.owns_payment(recorded_payment_intent_id="pi_1", payment_intent_id="pi_2",
                                  session_payment_intent_id="pi_2")
    assert rules.owns_payment(recorded_payment_intent_id=None, payment_intent_id="pi_2",
                              session_payment_intent_id="pi_2")
    assert not rules.owns_payment(recorded_payment_intent_id=None, payment_intent_id="pi_2")


@pytest.mark.parametrize("build, raw", [
    (ChargeValue.from_stripe, {"id": "ch_1", "amount": "5000"}),
    (ChargeValue.from_stripe, {"amount": 5000}),
    (ChargeValue.from_stripe, {"id": "ch_1", "amount": 1, "refunds": {"data": [{"id": "re_1", "amount": "x"}]}}),
    (DisputeValue.from_stripe, {"id": "du_1"}),
    (CheckoutSessionValue.from_stripe, []),
])
def test_malformed_objects_are_invalid(build, raw):
    with pytest.raises(InvalidStripeObject) as caught:
        build(raw)
    assert caught.value.outcome == "invalid_object"


def test_rules_sets_match_the_entitlement_conditions():
    from lectern.entitlements import service
    assert rules.OPEN_DISPUTE == service.OPEN_DISPUTE and rules.DISPUTE_BLOCKS_ACCESS == service.DISPUTE_BLOCKS_ACCESS
