"""Search finds the same words on both engines: the search text is stored without accents
(registry.search.fold), and PostgreSQL's search vector turns punctuation into spaces
before parsing (registry.search_index.SEARCH_VECTOR_SQL), as FTS5 does."""

from django.db import migrations

from registry.search import fold
from registry.search_index import rebuild_search_vector

BATCH = 2000


def fold_search_text(apps, schema_editor):
    """Fold the stored search text of existing models, a batch of ids at a time (no
    cursor is held open across the writes: SQLite would not allow it)."""
    registered_model = apps.get_model("registry", "RegisteredModel")
    rows = registered_model.objects.using(schema_editor.connection.alias).order_by("pk")
    last = 0
    while batch := list(rows.filter(pk__gt=last).values_list("pk", "search_text")[:BATCH]):
        last = batch[-1][0]
        folded = [(pk, text, fold(text)) for pk, text in batch]
        changed = [
            registered_model(pk=pk, search_text=new) for pk, old, new in folded if new != old
        ]
        rows.bulk_update(changed, ["search_text"])


def rebuild_vector(apps, schema_editor):
    rebuild_search_vector(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("registry", "0009_team_sort_indexes")]
    operations = [
        migrations.RunPython(fold_search_text, migrations.RunPython.noop),
        migrations.RunPython(rebuild_vector, migrations.RunPython.noop),
    ]
