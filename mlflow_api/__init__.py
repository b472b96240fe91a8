"""The MLflow-compatible REST API: the wire format on top of the registry services."""
