"""On PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE on the audit trail, so even
SQL outside the application cannot quietly rewrite history.

TRUNCATE is allowed only to a session that sets attest.allow_audit_truncate=on: the test
suite's connections do (Django flushes tables between transactional tests). Production
connections never set it.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION attest_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'governance_auditevent is append-only (' || TG_OP || ' refused)',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION attest_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('attest.allow_audit_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'governance_auditevent is append-only (TRUNCATE refused)',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER attest_audit_no_update_delete BEFORE UPDATE OR DELETE ON governance_auditevent
    FOR EACH ROW EXECUTE FUNCTION attest_audit_append_only();
CREATE TRIGGER attest_audit_no_truncate BEFORE TRUNCATE ON governance_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION attest_audit_no_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS attest_audit_no_update_delete ON governance_auditevent;
DROP TRIGGER IF EXISTS attest_audit_no_truncate ON governance_auditevent;
DROP FUNCTION IF EXISTS attest_audit_append_only();
DROP FUNCTION IF EXISTS attest_audit_no_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
