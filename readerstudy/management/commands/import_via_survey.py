"""Import the paper's survey files (VIA CSV exports) and a PIE mapping file as a new closed study."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config.commands import user_errors
from readerstudy.via_import import study_import_via


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text.") from None


class Command(BaseCommand):
    help = (
        "Import VIA CSV survey files (one reader per file unless the mapping names readers) with a PIE mapping "
        "CSV (filename, pie[, reader]); prints the new study's id."
    )

    def add_arguments(self, parser):
        parser.add_argument("--csv", type=Path, nargs="+", required=True, help="VIA CSV exports, one per reader.")
        parser.add_argument("--pies", type=Path, required=True, help="Mapping CSV: filename, pie (1/0)[, reader].")
        parser.add_argument("--title", default="")
        parser.add_argument(
            "--owner", default="", help="Username of the researcher who owns the study (admins see all)."
        )

    def handle(self, *args, **opts):
        files = [(p.name, _read(p)) for p in opts["csv"]]
        mapping = (opts["pies"].name, _read(opts["pies"]))
        owner = None
        if opts["owner"]:
            owner = get_user_model().objects.filter(username=opts["owner"]).first()
            if owner is None:
                raise CommandError(f"No user {opts['owner']!r}.")
        with user_errors():
            result = study_import_via(files=files, mapping=mapping, title=opts["title"], user=owner)
        self.stdout.write(str(result))
