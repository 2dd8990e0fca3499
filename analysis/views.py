from django.shortcuts import render

from config.roles import researcher_required


@researcher_required
def home(request):
    return render(request, "analysis/home.html")
