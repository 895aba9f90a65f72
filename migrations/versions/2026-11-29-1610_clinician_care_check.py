"""The clinician's care-relationship check as a database function (ece.access.policy.clinician_may_see).

Written inline, the check made every clinician query carry some thirty subqueries: planning them cost about
3 ms per request (more than running them), and the planner could turn them into hashed sets of every patient
ever seen at the facility, which grows with the facility. As a function it is one call per candidate row:
its statements are planned once per connection and look up only the patient at hand.

Revision ID: 0008_clinician_care_check
Revises: 0007_search_date_spans
Create Date: 2026-11-29 16:10
"""

from alembic import op

revision = "0008_clinician_care_check"
down_revision = "0007_search_date_spans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ``plan_cache_mode = auto``: the API's sessions force custom plans for searches, whose best plan depends on
    # the values; these lookups are equalities on indexed columns, so a plan kept across calls is as good.
    # In care at the facility: an Encounter it provided (serviceProvider), a referral Task it requested or owns,
    # or the patient's managingOrganization; refused by an active Consent of the patient (R4 consent.html
    # provisions) with a deny provision naming the facility, or a base deny without actors whose nested permits
    # do not name it; an unexpired break-the-glass grant of this user opens the record whatever the Consent.
    op.execute(r"""
        CREATE FUNCTION clinician_may_see(p_patient text, p_facility text, p_subject text) RETURNS boolean
        LANGUAGE plpgsql STABLE SET plan_cache_mode = auto AS $$
        DECLARE
            names jsonb := jsonb_build_object('f', 'Organization/' || p_facility);
            deny_naming jsonpath := '$.** ? (@.type == "deny" && @.actor[*].reference.reference == $f)';
            permit_naming jsonpath := '$.provision.provision[*] ? (@.type == "permit" && '
                                      '@.actor[*].reference.reference == $f)';
        BEGIN
            IF EXISTS (SELECT 1 FROM access_grant g WHERE g.subject = p_subject AND g.patient_id = p_patient
                       AND g.expires_at > now()) THEN
                RETURN true;
            END IF;
            IF NOT (
                EXISTS (SELECT 1 FROM search_reference m WHERE m.resource_type = 'Patient'
                        AND m.resource_id = p_patient AND m.param = 'organization'
                        AND m.target_type = 'Organization' AND m.target_id = p_facility)
                OR EXISTS (SELECT 1 FROM search_reference e JOIN search_reference sp
                           ON sp.resource_type = 'Encounter' AND sp.resource_id = e.resource_id
                           AND sp.param = 'service-provider' AND sp.target_type = 'Organization'
                           AND sp.target_id = p_facility
                           WHERE e.resource_type = 'Encounter' AND e.param = 'patient'
                           AND e.target_type = 'Patient' AND e.target_id = p_patient)
                OR EXISTS (SELECT 1 FROM search_reference t JOIN search_reference tf
                           ON tf.resource_type = 'Task' AND tf.resource_id = t.resource_id
                           AND tf.param IN ('requester', 'owner') AND tf.target_type = 'Organization'
                           AND tf.target_id = p_facility
                           WHERE t.resource_type = 'Task' AND t.param = 'patient' AND t.target_type = 'Patient'
                           AND t.target_id = p_patient)) THEN
                RETURN false;
            END IF;
            RETURN NOT EXISTS (
                SELECT 1 FROM search_reference cp JOIN resource cr ON cr.resource_type = 'Consent'
                AND cr.id = cp.resource_id AND NOT cr.deleted
                CROSS JOIN LATERAL (SELECT CAST(cr.content AS jsonb) AS doc) c
                WHERE cp.resource_type = 'Consent' AND cp.param = 'patient' AND cp.target_type = 'Patient'
                AND cp.target_id = p_patient AND c.doc ->> 'status' = 'active'
                AND (jsonb_path_exists(c.doc, deny_naming, names)
                     OR (c.doc #>> '{provision,type}' = 'deny' AND NOT (c.doc -> 'provision' ? 'actor')
                         AND NOT jsonb_path_exists(c.doc, permit_naming, names))));
        END $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION clinician_may_see(text, text, text)")
