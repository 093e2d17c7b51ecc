"""Powertools Logger, Metrics and Tracer, one instance of each per function.

The service name comes from POWERTOOLS_SERVICE_NAME (set per function in the
template; Powertools reads it, and its other POWERTOOLS_* variables, itself).
Tests and the local stack quiet them through the environment
(POWERTOOLS_TRACE_DISABLED, POWERTOOLS_METRICS_DISABLED, LOG_LEVEL).

The Tracer is built on the first invocation, not at import (`LazyTracer`): the X-Ray SDK
and its patches of botocore and http.client are the largest piece of Powertools' own cold
init, and nothing needs them before a request runs (docs/performance.md). The first
invocation's trace is the same as before: Lambda's runtime records the invocation segment
itself (`Tracing: Active`), and the SDK, loaded and patched before the handler runs, adds
the `## lambda_handler` subsegment (ColdStart, Service) and one subsegment per AWS and
Stripe call. SnapStart's priming builds it before the snapshot (lectern.snapstart).

Metrics is built on its first use too (`LazyMetrics`): most requests publish no metric (the
alarms' counts are of failures: an email SES refused, a webhook event that failed), and a
function that adds none never loads Powertools' metrics package (4-5 ms of each cold start).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging import Logger

from lectern import config

logger = Logger(level=config.settings().log_level)

# Cold start: by default Tracer runs X-Ray's patch_all(), which imports and patches every library it
# supports that happens to be importable (requests, sqlite3, httpx, the SQL drivers... and PynamoDB,
# whose X-Ray patch wraps botocore's HTTP send a second time, so each DynamoDB call would be traced
# twice). Lectern's I/O goes through botocore (DynamoDB via PynamoDB, SES, S3, Secrets Manager) and
# http.client (the Stripe SDK's urllib client): patching those two keeps a subsegment for every AWS
# and Stripe call, without importing requests & co. at init when they are installed (AuthFunction's
# cold init: 2.11x -> 1.95x the floor, docs/performance.md).
TRACER_OPTIONS: dict[str, Any] = {"patch_modules": ("botocore", "httplib")}


class BuiltOnFirstUse:
    """A Powertools object built (its package imported) by `load()` or the first use of any public
    attribute, which it then answers; `_build` makes it from the options given here."""

    def __init__(self, **options: Any):
        self._options = options
        self._built: Any = None

    @property
    def loaded(self) -> bool:
        return self._built is not None

    def load(self) -> Any:
        """The object, built now if it is not yet."""
        if self._built is None:
            self._built = self._build(**self._options)
        return self._built

    def _build(self, **options: Any) -> Any:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:  # put_annotation, add_metric, flush_metrics...
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.load(), name)


class LazyTracer(BuiltOnFirstUse):
    """Powertools' `Tracer`, built (the X-Ray SDK imported, botocore and http.client patched) on the
    first invocation of a handler it decorates, or on first use of any other attribute.

    The patches wrap botocore's and http.client's classes, so clients created before them (at init,
    by the SnapStart priming) are traced as well."""

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._handlers: list[Callable[[], Callable]] = []

    def _build(self, **options: Any) -> Any:
        from aws_lambda_powertools import Tracer

        return Tracer(**options)

    def capture_lambda_handler(self, lambda_handler: Callable | None = None, capture_response: bool | None = None,
                               capture_error: bool | None = None) -> Callable:
        """`Tracer.capture_lambda_handler`, applied when the handler first runs (or `prepare_handlers`)."""
        if lambda_handler is None:
            return functools.partial(self.capture_lambda_handler, capture_response=capture_response,
                                     capture_error=capture_error)
        traced: Callable | None = None

        def build() -> Callable:
            nonlocal traced
            if traced is None:
                traced = self.load().capture_lambda_handler(lambda_handler, capture_response=capture_response,
                                                            capture_error=capture_error)
            return traced

        self._handlers.append(build)

        @functools.wraps(lambda_handler)
        def handler(event: Any, context: Any, **kwargs: Any) -> Any:
            return (traced or build())(event, context, **kwargs)

        return handler

    def prepare_handlers(self) -> None:
        """Build the Tracer and apply it to every handler it decorates, before any invocation (SnapStart's
        priming: a restored copy's first request then finds them traced already)."""
        for build in self._handlers:
            build()


tracer = LazyTracer(**TRACER_OPTIONS)


class LazyMetrics(BuiltOnFirstUse):
    """Powertools' `Metrics`, built (its package imported) on first use: `add_metric` and any other
    attribute. `log_metrics` flushes at the end of each invocation what was added, as Powertools' own
    decorator does; while nothing has built the Metrics there is nothing to flush."""

    def _build(self, **options: Any) -> Any:
        from aws_lambda_powertools.metrics import Metrics

        return Metrics(**options)

    def log_metrics(self, lambda_handler: Callable) -> Callable:
        """`Metrics.log_metrics` without options (none of Lectern's handlers uses them): the metrics the
        handler added are published when it returns or raises."""
        @functools.wraps(lambda_handler)
        def handler(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return lambda_handler(event, context, *args, **kwargs)
            finally:
                if self.loaded:
                    self._built.flush_metrics()

        return handler

    def add_count(self, name: str, value: int = 1) -> None:
        """A count (the alarms' failure counts, a run's outcomes). Powertools' metrics package,
        MetricUnit's included, loads with the first one, not at each cold start."""
        from aws_lambda_powertools.metrics import MetricUnit

        self.add_metric(name=name, unit=MetricUnit.Count, value=value)


metrics = LazyMetrics()
