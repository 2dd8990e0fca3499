"""Management commands: inviting readers and building a study from a PIE table."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from config.roles import is_reader
from readerstudy.models import Assignment, Study

from .conftest import make_png

pytestmark = pytest.mark.django_db


def test_invite_reader_creates_a_reader_and_assigns_a_form(study, capsys):
    call_command("invite_reader", "dr_house", "--study", str(study.pk))
    out = capsys.readouterr().out
    user = get_user_model().objects.get(username="dr_house")
    assert is_reader(user) and "Password: " in out
    password = out.split("Password: ")[1].split()[0]
    assert user.check_password(password)
    a = Assignment.objects.get(study=study, reader=user)
    assert a.pseudonym == "R03" and a.form.number == 1 and len(a.order) == 6
    with pytest.raises(CommandError, match="already reads a form"):
        call_command("invite_reader", "dr_house", "--study", str(study.pk))


def test_create_study_from_pies_reads_the_engine_table(artifacts, tmp_path, reader_a):
    images = tmp_path / "nih" / "images_001"
    images.mkdir(parents=True)
    rows, labels = ["image_index,image_id,correlation,rank,is_pie"], ["Image Index,Finding Labels"]
    for k in range(12):
        name = f"{k:08d}_000.png"
        make_png(images / name, k)
        rows.append(f"{k},{name},{0.1 * k:.2f},{k + 1},{'True' if k < 6 else 'False'}")
        labels.append(f"{name},Effusion|Mass" if k % 2 else f"{name},No Finding")
    (tmp_path / "pies.csv").write_text("\n".join(rows))
    (tmp_path / "labels.csv").write_text("\n".join(labels))
    call_command(
        "create_study_from_pies",
        "--pies",
        str(tmp_path / "pies.csv"),
        "--images",
        str(tmp_path / "nih"),
        "--labels",
        str(tmp_path / "labels.csv"),
        "--title",
        "NIH PIEs",
        "--forms",
        "2",
        "--cases",
        "6",
        "--readers",
        "reader_a",
        "--open",
    )
    study = Study.objects.get(title="NIH PIEs")
    assert study.status == "open" and study.cases.count() == 12
    case = study.cases.get(source_image_id="00000001_000.png")
    assert case.shown_labels == ["Effusion", "Mass"] and case.is_pie and case.correlation == 0.1
    assert Assignment.objects.get(study=study).reader == reader_a


def test_create_study_from_pies_names_missing_images(artifacts, tmp_path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "pies.csv").write_text("image_id,correlation,is_pie\nghost.png,0.1,1\n")
    with pytest.raises(CommandError, match="row 2: image 'ghost.png' not found"):
        call_command(
            "create_study_from_pies",
            "--pies",
            str(tmp_path / "pies.csv"),
            "--images",
            str(tmp_path / "imgs"),
            "--title",
            "X",
        )


def test_create_study_from_pies_stratifies_by_a_metadata_column(artifacts, tmp_path):
    images = tmp_path / "imgs"
    images.mkdir()
    rows, meta = ["image_id,correlation,is_pie"], ["Image Index,Patient Age,View Position"]
    for k in range(24):
        name = f"{k:08d}_000.png"
        make_png(images / name, k)
        rows.append(f"{name},{0.01 * k:.2f},{'1' if k < 6 else '0'}")
        meta.append(f"{name},{40 + k},{'AP' if k % 3 == 0 else 'PA'}")  # PIEs 0-5: AP 0 and 3, PA the rest
    (tmp_path / "pies.csv").write_text("\n".join(rows))
    (tmp_path / "meta.csv").write_text("\n".join(meta))
    args = ["--pies", str(tmp_path / "pies.csv"), "--images", str(images), "--forms", "1", "--cases", "12"]
    call_command("create_study_from_pies", *args, "--title", "By view", "--metadata", str(tmp_path / "meta.csv"),
                 "--stratify-by", "view")  # fmt: skip
    design = Study.objects.get(title="By view").design
    assert design["stratify_by"] == "view" and design["strata"] == {"AP": [2, 2], "PA": [4, 4]}
    with pytest.raises(CommandError, match="Unknown attribute 'race'"):
        call_command("create_study_from_pies", *args, "--title", "X", "--metadata", str(tmp_path / "meta.csv"),
                     "--stratify-by", "race")  # fmt: skip
