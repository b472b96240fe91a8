"""Shared plumbing under both apps: htmx rendering, paging, stored-file downloads, the job
outbox and job progress, and the Job model (core.models). It imports nothing from
registry, governance or mlflow_api (docs/architecture.md, "Import directions")."""
