"""Signed tree heads of the audit log (governance.transparency).

Like the audit trail (0003), on PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE of
signed tree heads, except TRUNCATE by test sessions (attest.allow_audit_truncate=on)."""

from django.db import migrations, models

CREATE_TRIGGERS = """
CREATE OR REPLACE FUNCTION attest_tree_head_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND coalesce(current_setting('attest.allow_audit_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'governance_signedtreehead is append-only (' || TG_OP || ' refused)',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER attest_tree_head_no_update_delete
    BEFORE UPDATE OR DELETE ON governance_signedtreehead
    FOR EACH ROW EXECUTE FUNCTION attest_tree_head_append_only();
CREATE TRIGGER attest_tree_head_no_truncate BEFORE TRUNCATE ON governance_signedtreehead
    FOR EACH STATEMENT EXECUTE FUNCTION attest_tree_head_append_only();
"""
DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS attest_tree_head_no_update_delete ON governance_signedtreehead;
DROP TRIGGER IF EXISTS attest_tree_head_no_truncate ON governance_signedtreehead;
DROP FUNCTION IF EXISTS attest_tree_head_append_only();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("governance", "0011_riskprod_risk_class_requests")]

    operations = [
        migrations.CreateModel(
            name="SignedTreeHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("tree_size", models.BigIntegerField()),
                ("root_hash", models.CharField(max_length=64)),
                ("signed_at", models.DateTimeField()),
                ("key_id", models.CharField(max_length=16)),
                ("signature", models.CharField(max_length=128)),
                ("last_event_id", models.BigIntegerField(null=True)),
                ("frontier", models.JSONField(default=list)),
                ("timestamp_token", models.TextField(blank=True, default="")),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.RunPython(_on_postgresql(CREATE_TRIGGERS), _on_postgresql(DROP_TRIGGERS)),
    ]
