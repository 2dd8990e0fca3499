from django.urls import path

from readerstudy import views

app_name = "readerstudy"
urlpatterns = [path("", views.home, name="home")]
