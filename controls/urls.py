app_name = "controls"

urlpatterns: list = []
