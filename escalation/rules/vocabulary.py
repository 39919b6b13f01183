"""The fixed lists the procedures use: directory roles, dissent categories, outcomes and learning
themes (see DOMAIN.md)."""

# The roles a person can hold in the directory, in the order of the ladder.
ROLES = ("practitioner", "named_professional", "designated_professional", "board_manager", "chair")
# The partnership's board: they act on any of its disagreements and use the board pages.
BOARD_ROLES = ("board_manager", "chair")

CATEGORIES = {
    "referral": "Referral or enquiry stage (threshold, no further action, s47, strategy discussion)",
    "icpc_request": "Need for, or timing of, an initial child protection conference",
    "conference_decision": "A child protection conference decision",
    "plan_implementation": "Implementation of the child protection plan",
    "step_down_or_closure": "Step-down or case closure",
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

# What the board learns from a disagreement, recorded when it closes one (for the annual report).
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
