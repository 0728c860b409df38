from django.urls import path

from designer import views

app_name = "designer"

urlpatterns = [
    path("", views.flow_list, name="flow-list"),
    path("flows/<int:flow_id>/", views.flow_detail, name="flow-detail"),
]
