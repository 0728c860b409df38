from django.urls import path

from runtime.live import sockets

websocket_urlpatterns = [
    path("ws/runs/<int:run_id>/", sockets.RunSocket.as_asgi()),
    path("ws/flows/<int:flow_id>/runs/", sockets.FlowRunsSocket.as_asgi()),
    path("ws/runs/", sockets.RunsSocket.as_asgi()),
]
