from django.urls import path

from readerstudy import api, views, views_drafts, views_protocol, views_review

app_name = "readerstudy"
urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.study_new, name="new"),
    path("<int:pk>/", views.study_intro, name="intro"),
    path("<int:pk>/read/", views.read_resume, name="read_resume"),
    path("<int:pk>/read/<int:position>/", views.read, name="read"),
    path("<int:pk>/done/", views.done, name="done"),
    path("<int:pk>/review/", views_review.review, name="review"),
    path("image/<str:token>/", views.image, name="image"),
    path("image/<str:token>/full/", views.image_full, name="image_full"),
    path("<int:pk>/consent/", views_protocol.consent_page, name="consent"),
    path("<int:pk>/practice/", views_protocol.practice_page, name="practice"),
    path("practice-image/<str:token>/", views_protocol.practice_image, name="practice_image"),
    path("<int:pk>/protocol/", views_protocol.protocol, name="protocol"),
    # researchers and admins
    path("<int:pk>/dashboard/", views.dashboard, name="dashboard"),
    path("<int:pk>/status/", views.set_status, name="set_status"),
    path("<int:pk>/readers/", views_drafts.study_readers, name="readers"),
    path("<int:pk>/clone/", views_drafts.study_clone, name="clone"),
    path("<int:pk>/delete/", views_drafts.study_delete, name="delete"),
    path("<int:pk>/preview/<int:form>/<int:position>/", views_drafts.study_preview, name="preview"),
    path("<int:pk>/preview/<int:form>/case/<int:position>/", views_drafts.preview_case, name="preview_case"),
    path("<int:pk>/export/answers.csv", views.export_tidy, name="export_tidy"),
    path("<int:pk>/export/flags.csv", views.export_flags, name="export_flags"),
    path("<int:pk>/export/via.zip", views.export_via_zip, name="export_via_zip"),
    path("<int:pk>/export/via/<str:pseudonym>.csv", views.export_via, name="export_via"),
    # JSON API (schema: /api/schema/, docs: /api/docs/)
    path("api/studies/", api.StudyList.as_view(), name="api-studies"),
    path("api/studies/<int:pk>/", api.StudyDetail.as_view(), name="api-study"),
    path("api/studies/<int:pk>/next/", api.ReaderNext.as_view(), name="api-reader-next"),
    path("api/studies/<int:pk>/cases/<int:position>/", api.ReaderCase.as_view(), name="api-reader-case"),
    path("api/studies/<int:pk>/cases/<int:position>/viewed/", api.ReaderCaseViewed.as_view(), name="api-reader-viewed"),
    path("api/studies/<int:pk>/answers/", api.StudyAnswers.as_view(), name="api-study-answers"),
    path("api/studies/<int:pk>/cases/", api.StudyCases.as_view(), name="api-study-cases"),
    path("api/answers/", api.AnswerSubmit.as_view(), name="api-answer-submit"),
    path("api/flags/", api.CaseFlag.as_view(), name="api-case-flag"),
]
