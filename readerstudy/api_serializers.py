"""Output serializers of the JSON API: what each endpoint returns, so the OpenAPI schema is a real contract.

Responses are rendered through these (``Serializer(payload).data``), which makes each one an allow-list: a
field a selector adds later does not reach a client until it is declared here, and the reader-side
serializers declare no hidden field (PIE status, source ids, correlation, ground truth) at all.
"""

from functools import cache
from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

# --- what readers get (blinded) -------------------------------------------------------------------------


class QuestionSerializer(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=["yes_no", "likert", "choice", "text"])
    required = serializers.BooleanField()
    options = serializers.ListField(child=serializers.CharField(), help_text="Labels of the Likert points/choices.")


class StudyReaderFieldsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    instructions = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    allow_back = serializers.BooleanField()
    allow_change = serializers.BooleanField()
    keep_window = serializers.BooleanField(help_text="Window/level carries over from case to case (else it resets).")
    allow_unable = serializers.BooleanField(help_text='Answers may be "unable_to_assess" (counted, not a rating).')
    allow_review = serializers.BooleanField(help_text="Finished readers may review their answers beside the reference.")
    questions = QuestionSerializer(many=True)


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    current = serializers.IntegerField(help_text="Position of the first unfinished case (total when finished).")


class ReaderStudySerializer(StudyReaderFieldsSerializer):
    assignment = serializers.IntegerField(help_text="The reader's assignment id, which the answer POST names.")
    progress = ProgressSerializer()
    finished = serializers.BooleanField()


class DepthSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="Raw little-endian uint16 pixels, rows x columns.")
    max = serializers.IntegerField()
    center = serializers.FloatField()
    width = serializers.FloatField()
    from_file = serializers.BooleanField(help_text="The window came from the DICOM file.")


class SpacingSerializer(serializers.Serializer):
    row_mm = serializers.FloatField(help_text="mm between pixel rows.")
    col_mm = serializers.FloatField(help_text="mm between pixel columns.")
    detector = serializers.BooleanField(help_text="At the detector (ImagerPixelSpacing): includes magnification.")


class CaseShownSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque case token (says nothing about the case).")
    image_url = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    shown_labels = serializers.ListField(child=serializers.CharField())
    depth = DepthSerializer(required=False, allow_null=True, help_text="DICOM: the full-depth pixels and window.")
    pixel_spacing = SpacingSerializer(required=False, allow_null=True, help_text="DICOM: mm per pixel, for the ruler.")


class FlagSerializer(serializers.Serializer):
    flagged = serializers.BooleanField()
    comment = serializers.CharField(allow_blank=True)


class ReaderCaseSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(help_text="The reader's assignment id, which the answer POST names.")
    position = serializers.IntegerField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    case = CaseShownSerializer()
    answers = serializers.DictField(child=serializers.JSONField(), help_text="The reader's own answers by key.")
    flag = FlagSerializer()
    completed = serializers.BooleanField()
    editable = serializers.BooleanField()
    prev = serializers.IntegerField(allow_null=True, help_text="Position the reader may go back to, if any.")
    next = serializers.IntegerField(allow_null=True, help_text="Position the reader may go on to, if any.")
    prefetch = serializers.CharField(allow_null=True, help_text="Image URL of the next case, to warm the cache.")


class ReaderNextCaseSerializer(ReaderCaseSerializer):
    finished = serializers.BooleanField(help_text="False: the next unfinished case follows.")


class ReaderFinishedSerializer(serializers.Serializer):
    finished = serializers.BooleanField(help_text="True: every case of the form is finished.")
    done = serializers.IntegerField()
    total = serializers.IntegerField()


READER_NEXT = PolymorphicProxySerializer(
    component_name="ReaderNext",
    serializers=[ReaderNextCaseSerializer, ReaderFinishedSerializer],
    resource_type_field_name=None,
)


class ViewedSerializer(serializers.Serializer):
    viewed = serializers.IntegerField(help_text="The position recorded as on screen.")


class SubmitResultSerializer(serializers.Serializer):
    saved = serializers.DictField(child=serializers.JSONField(), help_text="Stored value of each key submitted.")
    position = serializers.IntegerField()
    case_completed = serializers.BooleanField()
    form_completed = serializers.BooleanField()
    next_position = serializers.IntegerField(allow_null=True)
    next = ReaderCaseSerializer(required=False, help_text="With complete=true: the next case, already on screen.")
    session_break = serializers.BooleanField(
        required=False, help_text="The reader finished a session; the next one opens after the washout."
    )


class ReaderAnswerSerializer(serializers.Serializer):
    position = serializers.IntegerField(allow_null=True)
    case = serializers.CharField(help_text="Opaque case token.")
    question = serializers.CharField()
    value = serializers.JSONField()
    answered_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AssignedStudySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    assignment = serializers.IntegerField(help_text="The reader's assignment id, which the answer POST names.")
    title = serializers.CharField()
    status = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    finished = serializers.BooleanField()


# --- what researchers get (everything) ------------------------------------------------------------------


class StudySummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    n_cases = serializers.IntegerField()
    n_readers = serializers.IntegerField()


class StudyListSerializer(serializers.Serializer):
    assigned = AssignedStudySerializer(many=True, help_text="The studies the user reads (blinded).")
    all = StudySummarySerializer(many=True, required=False, help_text="Researchers: the studies they may see.")


class ReaderStatusSerializer(serializers.Serializer):
    pseudonym = serializers.CharField()
    form = serializers.IntegerField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class StudyFullSerializer(StudyReaderFieldsSerializer):
    reader_title = serializers.CharField(help_text="The title the study's readers see.")
    design = serializers.JSONField()
    source = serializers.JSONField()
    created_at = serializers.DateTimeField()
    readers = ReaderStatusSerializer(many=True)


STUDY_DETAIL = PolymorphicProxySerializer(
    component_name="StudyDetail",
    serializers=[StudyFullSerializer, ReaderStudySerializer],
    resource_type_field_name=None,
)


class TidyAnswerSerializer(serializers.Serializer):
    """One row of the tidy answers table (readerstudy.tables.answers_tidy), plus a truth_<name> column per
    hidden ground-truth field of the study's cases."""

    study_id = serializers.IntegerField()
    study = serializers.CharField()
    form = serializers.IntegerField()
    reader = serializers.CharField(help_text="Pseudonym.")
    case_id = serializers.IntegerField()
    source_image_id = serializers.CharField()
    is_pie = serializers.BooleanField()
    correlation = serializers.FloatField(allow_null=True)
    dataset = serializers.CharField(allow_blank=True)
    is_anchor = serializers.BooleanField()
    repeat_of_case_id = serializers.IntegerField(allow_null=True)
    question = serializers.CharField()
    question_text = serializers.CharField()
    question_kind = serializers.CharField()
    value = serializers.JSONField()
    value_numeric = serializers.FloatField(allow_null=True)
    position = serializers.IntegerField(allow_null=True)
    server_seconds = serializers.FloatField(allow_null=True)
    client_active_seconds = serializers.FloatField(allow_null=True)
    first_viewed_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    n_changes = serializers.IntegerField()
    case_completed_at = serializers.DateTimeField(allow_null=True)
    shown_labels = serializers.ListField(child=serializers.CharField())
    n_shown_diseases = serializers.IntegerField()
    question_scale = serializers.IntegerField(allow_null=True)
    simulated = serializers.BooleanField()
    order_seed = serializers.IntegerField(allow_null=True)

    def to_representation(self, row):
        out = super().to_representation(row)
        out.update({k: v for k, v in row.items() if k.startswith(("truth_", "profile_", "consent"))})
        return out


class StudyAnswersSerializer(serializers.Serializer):
    study = serializers.IntegerField()
    answers = serializers.ListField(child=serializers.JSONField())


class ReaderStudyAnswersSerializer(StudyAnswersSerializer):
    answers = ReaderAnswerSerializer(many=True)


class ResearcherStudyAnswersSerializer(StudyAnswersSerializer):
    answers = TidyAnswerSerializer(many=True)


STUDY_ANSWERS = PolymorphicProxySerializer(
    component_name="StudyAnswers",
    serializers=[ResearcherStudyAnswersSerializer, ReaderStudyAnswersSerializer],
    resource_type_field_name=None,
)


class CaseFullSerializer(serializers.Serializer):
    case_id = serializers.IntegerField()
    token = serializers.CharField()
    image_url = serializers.CharField(allow_null=True)
    shown_labels = serializers.ListField(child=serializers.CharField())
    is_pie = serializers.BooleanField()
    source_image_id = serializers.CharField()
    correlation = serializers.FloatField(allow_null=True)
    dataset = serializers.CharField(allow_blank=True)
    hidden_truth = serializers.JSONField()
    is_anchor = serializers.BooleanField()
    repeat_of_case_id = serializers.IntegerField(allow_null=True)
    forms = serializers.ListField(child=serializers.IntegerField())
    n_assigned = serializers.IntegerField()
    n_completed = serializers.IntegerField()
    n_flagged = serializers.IntegerField()


class StudyCasesSerializer(serializers.Serializer):
    study = serializers.IntegerField()
    cases = CaseFullSerializer(many=True)


# --- the hot path's cheap allow-list ------------------------------------------------------------------------


@cache
def _shape(cls: type[serializers.Serializer]) -> dict[str, Any]:
    """The declared field tree of a serializer: name -> None (a value) or the nested tree ("list" or "one")."""
    shape: dict[str, Any] = {}
    for name, field in cls().fields.items():
        if isinstance(field, serializers.ListSerializer):
            shape[name] = ("list", _shape(type(field.child)))
        elif isinstance(field, serializers.Serializer):
            shape[name] = ("one", _shape(type(field)))
        else:
            shape[name] = None
    return shape


def _pick(shape: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, spec in shape.items():
        if name not in data:
            continue
        value = data[name]
        if spec is not None and value is not None:
            value = [_pick(spec[1], v) for v in value] if spec[0] == "list" else _pick(spec[1], value)
        out[name] = value
    return out


def allowed(cls: type[serializers.Serializer], data: dict[str, Any]) -> dict[str, Any]:
    """`data` cut to the fields `cls` declares, recursively: the same allow-list as ``cls(data).data`` for the
    reader's hot endpoints, whose payloads already hold JSON-ready values, without building DRF's field objects
    on every request (a profile showed them as the largest single cost left there)."""
    return _pick(_shape(cls), data)
