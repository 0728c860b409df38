from django.urls import path

from runtime import consumers

websocket_urlpatterns = [
    path("ws/runs/<int:run_id>/", consumers.RunConsumer.as_asgi()),
    path("ws/flows/<int:flow_id>/runs/", consumers.FlowRunsConsumer.as_asgi()),
]
