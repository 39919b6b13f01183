"""The fixed lists the procedures use: dissent categories and outcomes (see DOMAIN.md)."""

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
