from django.core.management.base import BaseCommand, CommandError

from controls import library


class Command(BaseCommand):
    help = (
        "Load the control library (controls/library/*.yaml): frameworks whose file changed "
        "are written and audited; unchanged ones are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only validate the files.")

    def handle(self, *args, check=False, **options):
        problems = library.validate()
        if problems:
            raise CommandError("\n".join(problems))
        if check:
            self.stdout.write("The control library validates.")
            return
        written = library.load()
        self.stdout.write(
            f"Loaded {', '.join(written)}." if written else "The control library is up to date."
        )
