"""The fixed lists the procedures use: directory roles, dissent categories, outcomes and learning
themes (see DOMAIN.md)."""

# The roles a person can hold in the directory, roughly in the order of the ladders. Each agency
# names its rungs differently (DOMAIN.md, "Who sits at each rung"): the policy's routing rules say
# which role owns which stage for which agency type.
ROLES = {
    "practitioner": "practitioner",
    "named_professional": "named professional or agency safeguarding lead",
    "designated_professional": "designated professional",
    "team_manager": "team manager",
    "senior_manager": "senior manager",
    "service_manager": "service manager",
    "head_of_service": "head of service",
    "partnership_lead": "agency partnership lead",
    "conference_chair": "child protection conference chair",
    "iro_manager": "independent reviewing officer service manager",
    "out_of_hours_manager": "emergency duty team manager",
    "board_manager": "board manager",
    "chair": "chair",
}
# Who a routing rule may name besides a directory role: the raiser (their own first stage), the
# decision-maker (named when the disagreement was raised) and the previous holder's line manager.
ROUTE_PEOPLE = {
    "raiser": "the practitioner who raised it",
    "decision_maker": "the professional whose decision is disputed",
    "line_manager": "line manager",
}
# Agency types and professional groups a policy knows unless it lists its own (`agency_types`,
# `professional_groups`); the directory stores what it is given (a lower_snake word) and the
# directory page warns about a value the partnership's policy does not know.
AGENCY_TYPES = {
    "health": "Health",
    "childrens_social_care": "Children's social care",
    "police": "Police",
    "education": "Education",
    "early_years": "Early years",
    "probation": "Probation",
    "housing": "Housing",
    "other": "Other",
}
PROFESSIONAL_GROUPS = {
    "doctor": "Doctor",
    "nurse": "Nurse, health visitor or midwife",
    "social_worker": "Social worker",
    "police_officer": "Police officer",
    "teacher": "Teacher",
    "early_years_practitioner": "Early years practitioner",
    "probation_officer": "Probation officer",
    "housing_officer": "Housing officer",
    "other": "Other",
}
# The partnership's board: they act on any of its disagreements and use the board pages.
BOARD_ROLES = ("board_manager", "chair")

CATEGORIES = {
    "referral": "Referral or enquiry stage (threshold, no further action, s47, strategy discussion)",
    "icpc_request": "Need for, or timing of, an initial child protection conference",
    "conference_decision": "A child protection conference decision",
    "plan_implementation": "Implementation of the child protection plan",
    "step_down_or_closure": "Step-down or case closure",
    "looked_after_plan": "A looked-after child's care plan",
    "other": "Other (information sharing, non-attendance at meetings)",
}

OUTCOMES = {
    "resolved_agreed_actions": "Resolved with agreed actions",
    "decision_upheld": "Original decision upheld, rationale accepted",
    "decision_changed": "Decision changed (referral accepted, assessment opened, case kept open)",
    "strategy_discussion_convened": "Strategy discussion convened",
    "icpc_convened": "Initial child protection conference convened",
    "review_conference_brought_forward": "Review conference brought forward",
    "dissent_recorded_no_change": "Dissent recorded, no change",
    "resolution_meeting_convened": "Resolution meeting or mediation convened",
    "superseded_by_child_protection_action": "Superseded by child protection action",
    "systemic_issue_referred": "Systemic issue referred to the partnership",
}

# Outcomes that only arrange something: the disagreement stays open and watched until each agreed
# action is confirmed done. A "convened" outcome needs a meeting among its actions.
ARRANGING_OUTCOMES = frozenset(
    {
        "resolved_agreed_actions",
        "strategy_discussion_convened",
        "icpc_convened",
        "review_conference_brought_forward",
        "resolution_meeting_convened",
    }
)
MEETING_OUTCOMES = ARRANGING_OUTCOMES - {"resolved_agreed_actions"}
# Outcomes that settle the matter outright: no actions. The rest may have actions or none.
SETTLING_OUTCOMES = frozenset({"decision_changed", "decision_upheld"})
# The decision stands: the counterpart has a say too, as well as the raiser.
DECISION_STANDS_OUTCOMES = frozenset({"decision_upheld", "dissent_recorded_no_change"})

# What the board learns from a disagreement (the default list; a policy may set its own),
# recorded by whoever closes it, at any stage, for the annual report.
LEARNING_THEMES = {
    "thresholds": "Understanding of thresholds and levels of need",
    "information_sharing": "Information sharing between agencies",
    "escalation_procedure": "Knowledge and use of the escalation procedure",
    "voice_of_child": "The child's lived experience and voice",
    "timeliness": "Timeliness of decisions and responses",
    "recording": "Recording of decisions and rationale",
    "meeting_attendance": "Attendance at and invitations to meetings",
    "supervision": "Supervision and management oversight",
    "other": "Other",
}
