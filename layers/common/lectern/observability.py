"""Powertools Logger, Metrics and Tracer, one instance of each per function.

The service name comes from POWERTOOLS_SERVICE_NAME (set per function in the
template). Tests and the local stack quiet them through the environment
(POWERTOOLS_TRACE_DISABLED, POWERTOOLS_METRICS_DISABLED, LOG_LEVEL).
"""
import os

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(level=os.environ.get("LOG_LEVEL", "INFO"))
metrics = Metrics()
tracer = Tracer()
