"""DVC stages, Ray Train orchestration and MLflow registry for ganmodels."""
