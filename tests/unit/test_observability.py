"""lectern.observability.LazyMetrics: Powertools' Metrics, built when a metric is first added, and
flushed at the end of each invocation as Powertools' own `log_metrics` does."""
import json

import pytest

from lectern.observability import LazyMetrics


@pytest.fixture
def published(monkeypatch, capsys):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "LecternTest")
    from aws_lambda_powertools.metrics import Metrics

    Metrics().clear_metrics()  # every Metrics shares one set: what other tests added outside a handler is not ours

    def read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return read


def test_an_invocation_that_adds_no_metric_builds_no_metrics_and_publishes_nothing(published):
    metrics = LazyMetrics()
    handler = metrics.log_metrics(lambda event, context: "answer")
    assert handler({}, None) == "answer"
    assert not metrics.loaded
    assert published() == []


def test_a_metric_added_is_published_when_the_handler_returns_and_when_it_raises(published):
    metrics = LazyMetrics()

    @metrics.log_metrics
    def handler(event, context):
        metrics.add_metric(name="EmailSendFailed", unit="Count", value=1)
        if event.get("fail"):
            raise RuntimeError("boom")
        return "answer"

    assert handler({}, None) == "answer"
    assert metrics.loaded
    with pytest.raises(RuntimeError):
        handler({"fail": True}, None)
    blobs = published()
    assert [blob["EmailSendFailed"] for blob in blobs] == [[1.0], [1.0]]  # one per invocation: flushed, then cleared
    assert {blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] for blob in blobs} == {"LecternTest"}
