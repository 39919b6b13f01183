"""The raise form as a model: what was typed (trimmed), and the request it makes."""

from __future__ import annotations

from starlette.datastructures import FormData

from escalation.web.raise_form import RaiseForm, field_errors


def _posted(**fields) -> RaiseForm:
    return RaiseForm.posted(
        FormData([(name.replace("__", "-"), value) for name, value in fields.items()])
    )


def test_the_date_boxes_and_the_risk_make_the_request():
    form = _posted(
        raiser_name="  Hana  ",
        decision_date__day="3",
        decision_date__month="11",
        decision_date__year="2026",
        immediate_risk="no",
        protective_action="ignored",
        form_id="abc",
        csrf="not a field of the form",
    )
    assert form.raiser_name == "Hana" and form.decision_date_day == "3"
    request = form.as_request("hana@trust.example")
    assert request["decision_date"] == "2026-11-03"
    assert request["immediate_risk"] is False and request["protective_action"] == ""
    assert request["idempotency_key"] == "form:hana@trust.example:abc"
    assert "csrf" not in form.model_dump()


def test_whatever_is_typed_in_the_date_boxes_never_raises():
    assert _posted().decision_date() is None
    for day, month, year in (("31", "2", "2026"), ("x", "1", "2026"), ("1", "1", "99999")):
        typed = _posted(
            decision_date__day=day, decision_date__month=month, decision_date__year=year
        )
        assert typed.decision_date() == "not a real date"
    assert _posted(immediate_risk="maybe").as_request("a@b.example")["immediate_risk"] is None


def test_the_childs_area_and_the_other_area_go_into_the_request():
    request = _posted(child_area=" lakeside-partnership ", other_area="Example Borough")
    made = request.as_request("a@b.example")
    assert (made["child_area"], made["other_area"]) == ("lakeside-partnership", "Example Borough")
    assert _posted().as_request("a@b.example")["child_area"] is None  # then the form asks


def test_errors_are_in_the_order_of_the_page_and_a_domain_keeps_its_case():
    errors = field_errors(
        {
            "reason": "must not be empty",
            "counterpart.email": "gmail.example is not one of Example Borough's secure domains",
            "child_area": "no policy is loaded for the area ''",
            "decision_date": "is required",
            "raiser.name": "must not be empty",
        }
    )
    assert list(errors) == [  # the order of the pages: about you comes last
        "child_area",
        "counterpart_email",
        "decision_date",
        "reason",
        "raiser_name",
    ]
    assert errors["counterpart_email"].startswith("gmail.example is not one of")
    assert errors["child_area"] == "Select the local authority area the child lives in"
    assert errors["reason"] == "Enter why you disagree"
