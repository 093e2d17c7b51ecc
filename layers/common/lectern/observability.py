"""Powertools Logger, Metrics and Tracer, one instance of each per function.

The service name comes from POWERTOOLS_SERVICE_NAME (set per function in the
template; Powertools reads it, and its other POWERTOOLS_* variables, itself).
Tests and the local stack quiet them through the environment
(POWERTOOLS_TRACE_DISABLED, POWERTOOLS_METRICS_DISABLED, LOG_LEVEL).
"""
from aws_lambda_powertools import Logger, Metrics, Tracer

from lectern import config

logger = Logger(level=config.settings().log_level)
metrics = Metrics()
# Cold start: by default Tracer runs X-Ray's patch_all(), which imports and patches every library it
# supports that happens to be importable (requests, sqlite3, httpx, the SQL drivers... and PynamoDB,
# whose X-Ray patch wraps botocore's HTTP send a second time, so each DynamoDB call would be traced
# twice). Lectern's I/O goes through botocore (DynamoDB via PynamoDB, SES, S3, Secrets Manager) and
# http.client (the Stripe SDK's urllib client): patching those two keeps a subsegment for every AWS
# and Stripe call, without importing requests & co. at init when they are installed (AuthFunction's
# cold init: 2.11x -> 1.95x the floor, docs/performance.md).
tracer = Tracer(patch_modules=("botocore", "httplib"))
