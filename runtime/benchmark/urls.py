from django.urls import include, path

from runtime.benchmark import views

urlpatterns = [
    path("bench/accept/", views.accept),
    path("bench/baseline/", views.baseline),
    path("bench/start-runs/", views.start_runs),
    path("bench/backlog/", views.backlog),
    path("bench/touch/", views.touch),
    path("bench/stats/", views.stats),
    path("", include("config.urls")),
]
