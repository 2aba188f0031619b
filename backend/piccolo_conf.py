from piccolo.conf.apps import AppRegistry

from backend.db import DB  # noqa: F401  (Piccolo looks up the name DB)

APP_REGISTRY = AppRegistry(apps=["backend.piccolo_app"])
