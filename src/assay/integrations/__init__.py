"""Assay's results where other tools keep theirs: MLflow runs (:mod:`.mlflow_log`) and an MLflow
evaluator plugin (:mod:`.mlflow_evaluator`, entry point ``mlflow.model_evaluator``: "assay").
MLflow is optional (``pip install 'assay[mlflow]'``) and imported inside the functions."""
