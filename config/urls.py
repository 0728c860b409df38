from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("", include("designer.urls")),
    path("", include("runtime.http.urls")),
    path("api/", include("designer.api_urls")),
    path("api/", include("runtime.http.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

handler404 = "designer.api_errors.not_found"
