"""Prometheus metrics: what an operator watches, at `GET /metrics` behind a bearer token.

Three kinds of figures:

- **Counted where they happen**, in the process they happen in: requests (per endpoint: the
  route's rule, never the path, so no reference or personal data reaches a label), jobs, and
  the domain's outcomes. Decisions, screening runs and their referrals per check, and carrier
  answers are counted from the rows that record them (``application_events``,
  ``screening_runs``, ``screening_hits``, ``carrier_queries``) when their transaction
  commits: a listener on every engine sees those INSERTs, so no code path can forget to count
  and nothing rolled back is counted.
- **Read at scrape time**, in a handful of statements: RQ queue depth and the age of each
  queue's oldest waiting job (two Redis round trips), the outbox (one query), the audit log's
  checkpoint lag (one), applications waiting (one) and the watchlists in use (one).
- **Per process**: how long this process's carrier verification has been answering from its
  last good carrier state (eta.carrier.state.stale_age), the highest over live processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn and `eta worker` on one machine, the same
directory), prometheus_client keeps each process's figures in a file there and a scrape of any
web process adds them up; unset (the development server, tests), figures live in this process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hmac
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from rq import Queue
from rq.utils import utcparse
from sqlalchemy import Engine, Insert, event, func, or_, select
from sqlalchemy.exc import InvalidRequestError, SQLAlchemyError

from eta.extensions import db, limiter, redis_client
from eta.models import (
    Application,
    ApplicationEvent,
    AuditCheckpoint,
    AuditEvent,
    AuditLogState,
    CarrierQuery,
    ScreeningHit,
    ScreeningRun,
    WatchlistSource,
    WatchlistVersion,
)
from eta.models import ApplicationStatus as S
from eta.tasks import ALL_QUEUES
from eta.timeutil import utcnow
from eta.web import logs
from eta.web.problems import problem_response

log = logging.getLogger(__name__)
access_log = logging.getLogger("eta.access")

blueprint = Blueprint("metrics", __name__)

# A `_created` series beside every counter doubles what Prometheus stores for nothing it needs.
disable_created_metrics()

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Figures of this process (all of them when not in multiprocess mode); a registry of our own,
# not prometheus_client's global one, so nothing else a library registers is exposed.
REGISTRY = CollectorRegistry(auto_describe=True)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: from a cached carrier answer (~1 ms) to a slow officer search.
_LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0)

HTTP_REQUESTS = Counter(
    "eta_http_requests",
    "HTTP requests answered, by method, endpoint (the route's rule) and status code.",
    ("method", "endpoint", "status"),
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "eta_http_request_duration_seconds",
    "Time from the request's start to its response, by method and endpoint.",
    ("method", "endpoint"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
JOBS = Counter(
    "eta_jobs",
    "RQ jobs run by the workers, by task and outcome (ok, failed).",
    ("task", "outcome"),
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "eta_job_duration_seconds",
    "Time a job body ran in the worker, by task.",
    ("task",),
    buckets=_JOB_BUCKETS,
    registry=REGISTRY,
)
SUBMITTED = Counter(
    "eta_applications_submitted",
    "Applications submitted (committed), by the web journey or the API.",
    registry=REGISTRY,
)
DECISIONS = Counter(
    "eta_decisions",
    "Decisions committed, by outcome (approved, referred, refused, info_requested, revoked) "
    "and actor (system: screening; officer; operator).",
    ("outcome", "actor"),
    registry=REGISTRY,
)
SCREENING_RUNS = Counter(
    "eta_screening_runs",
    "Screening runs committed, by purpose (initial, rescreen) and outcome (clear, hit).",
    ("purpose", "outcome"),
    registry=REGISTRY,
)
REFERRALS = Counter(
    "eta_screening_referrals",
    "Screening runs with at least one hit of a check, by check: divide by the runs' rate for "
    "the referral rate per check.",
    ("check",),
    registry=REGISTRY,
)
CARRIER_ANSWERS = Counter(
    "eta_carrier_answers",
    "Carrier verifications answered, as the query log records them: by kind (token, passport, "
    "batch), result and reason (a batch: NOT_OK when any passenger was, no reason).",
    ("kind", "result", "reason"),
    registry=REGISTRY,
)
CARRIER_PASSENGERS = Counter(
    "eta_carrier_passengers",
    "Passengers checked by carriers, by kind and whether the answer was NOT_OK (refused) or "
    "not (other: OK, NOT_APPLICABLE, ERROR).",
    ("kind", "answer"),
    registry=REGISTRY,
)
CARRIER_STALE = Gauge(
    "eta_carrier_state_stale_seconds",
    "How long carrier verification has been answering from its last good carrier state "
    "because reloading it fails (0: it is not); the highest over live web processes, as of "
    "each process's last request.",
    registry=REGISTRY,
    multiprocess_mode="livemax",
)

_DECISION_OUTCOMES = frozenset({S.APPROVED, S.REFERRED, S.REFUSED, S.INFO_REQUESTED, S.REVOKED})
_UNDECIDED = (S.SUBMITTED, S.SCREENING, S.REFERRED, S.INFO_REQUESTED)


def multiprocess_dir() -> str | None:
    """The directory shared by this machine's processes' figures (None: single process)."""
    return os.environ.get(MULTIPROCESS_ENV) or None


# ---- counted at commit ------------------------------------------------------------------------

_PENDING = "eta.metrics.pending"  # connection.info key: (counter, labels, amount) to apply


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _events(rows: Sequence[Mapping[str, Any]]) -> Iterator[tuple[Any, tuple[str, ...], float]]:
    for row in rows:
        status = _text(row.get("to_status"))
        if status == S.SUBMITTED:
            yield SUBMITTED, (), 1
        elif status in _DECISION_OUTCOMES:
            yield DECISIONS, (status, _text(row.get("actor"))), 1


def _runs(rows: Sequence[Mapping[str, Any]]) -> Iterator[tuple[Any, tuple[str, ...], float]]:
    for row in rows:
        yield SCREENING_RUNS, (_text(row.get("purpose")), _text(row.get("outcome"))), 1


def _hits(rows: Sequence[Mapping[str, Any]]) -> Iterator[tuple[Any, tuple[str, ...], float]]:
    # A run with three watchlist hits is one referral by the watchlist check.
    for _run, check in {(row.get("run_id"), _text(row.get("check_name"))) for row in rows}:
        yield REFERRALS, (check,), 1


def _carrier(rows: Sequence[Mapping[str, Any]]) -> Iterator[tuple[Any, tuple[str, ...], float]]:
    for row in rows:
        kind, result = _text(row.get("kind")), _text(row.get("result"))
        passengers = int(row.get("passengers") or 1)
        if kind == "batch":
            # The log keeps a batch as one row, its reason "not_ok=<count>" (never a label).
            reason = _text(row.get("reason"))
            refused = int(reason.removeprefix("not_ok=")) if reason.startswith("not_ok=") else 0
            yield CARRIER_ANSWERS, (kind, result, ""), 1
            yield CARRIER_PASSENGERS, (kind, "NOT_OK"), refused
            yield CARRIER_PASSENGERS, (kind, "other"), passengers - refused
        else:
            yield CARRIER_ANSWERS, (kind, result, _text(row.get("reason"))), 1
            yield CARRIER_PASSENGERS, (kind, "NOT_OK" if result == "NOT_OK" else "other"), 1


_WATCHED: dict[Any, Any] = {
    ApplicationEvent.__table__: _events,
    ScreeningRun.__table__: _runs,
    ScreeningHit.__table__: _hits,
    CarrierQuery.__table__: _carrier,
}


@event.listens_for(Engine, "after_execute")
def _note_insert(
    connection: Any,
    statement: Any,
    multiparams: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    _options: Any,
    _result: Any,
) -> None:
    """Note what an INSERT into a counted table will count once its transaction commits."""
    if not isinstance(statement, Insert):
        return
    count = _WATCHED.get(statement.table)
    if count is None:
        return
    rows = list(multiparams) if multiparams else [params]
    try:
        connection.info.setdefault(_PENDING, []).extend(count(rows))
    except (TypeError, ValueError):  # a row of an unexpected shape: never fail the write
        log.warning("metrics: an insert into %s was not counted", statement.table.name)


@event.listens_for(Engine, "commit")
def _count_committed(connection: Any) -> None:
    for counter, labels, amount in connection.info.pop(_PENDING, ()):
        if amount > 0:
            (counter.labels(*labels) if labels else counter).inc(amount)


@event.listens_for(Engine, "rollback")
def _forget_rolled_back(connection: Any) -> None:
    # A connection lost in a database restart has no info left to read: its DBAPI connection
    # and the counts noted on it are discarded with it, and the rollback must not fail here.
    with contextlib.suppress(InvalidRequestError):
        connection.info.pop(_PENDING, None)


# ---- requests ---------------------------------------------------------------------------------


def _endpoint() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "none"


def _start_request() -> None:
    g.eta_started = time.perf_counter()
    # A proxy that eta trusts (ETA_TRUSTED_PROXIES) may hand its id; a client may not.
    offered = None
    if current_app.config["ETA_TRUSTED_PROXIES"]:
        offered = logs.accepted_request_id(request.headers.get(logs.REQUEST_ID_HEADER))
    g.eta_request_id = offered or logs.new_request_id()
    g.eta_request_id_token = logs.REQUEST_ID.set(g.eta_request_id)


# A route's labelled series, found once per process: labels() validates and locks on each call,
# and these two run on every response. Bounded by routes x methods x status codes.
@functools.lru_cache(maxsize=2048)
def _request_counter(method: str, endpoint: str, status: int) -> Any:
    return HTTP_REQUESTS.labels(method, endpoint, str(status))


@functools.lru_cache(maxsize=1024)
def _latency_histogram(method: str, endpoint: str) -> Any:
    return HTTP_LATENCY.labels(method, endpoint)


def _finish_request(response: Response) -> Response:
    started = g.pop("eta_started", None)
    request_id = g.get("eta_request_id")
    if request_id is not None:
        response.headers[logs.REQUEST_ID_HEADER] = request_id
    if started is None:
        return response
    elapsed = time.perf_counter() - started
    method = request.method if request.method in _METHODS else "other"
    endpoint = _endpoint()
    _request_counter(method, endpoint, response.status_code).inc()
    _latency_histogram(method, endpoint).observe(elapsed)
    if request.blueprint in _CARRIER_BLUEPRINTS:  # only carrier verification reads that state
        _note_carrier_state()
    access_log.info(
        "%s %s %s",
        method,
        endpoint,
        response.status_code,
        extra={
            "method": method,
            "endpoint": endpoint,
            "status": response.status_code,
            "duration_ms": round(elapsed * 1000, 2),
        },
    )
    return response


def _end_request(_error: BaseException | None) -> None:
    token = g.pop("eta_request_id_token", None)
    if token is not None:
        logs.REQUEST_ID.reset(token)


_last_stale: list[float] = [0.0]
# The blueprints whose requests load (or fail to reload) the carrier state.
_CARRIER_BLUEPRINTS = frozenset({"carrier_api", "carrier"})


def _note_carrier_state() -> None:
    """Publish this process's carrier-state staleness when it changed (a file write each)."""
    from eta.carrier.state import stale_age

    age = round(stale_age(current_app._get_current_object()), 1)  # type: ignore[attr-defined]
    if age != _last_stale[0]:
        _last_stale[0] = age
        CARRIER_STALE.set(age)


# ---- read at scrape time ----------------------------------------------------------------------


def _seconds_since(moment: dt.datetime | None, now: dt.datetime) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (now - moment).total_seconds())


class ScrapeCollector(Collector):
    """Figures read from Redis and the database when Prometheus scrapes (few statements)."""

    def collect(self) -> Iterable[Metric]:
        """Yield every scrape-time family; a source that fails is named by eta_scrape_error."""
        errors = GaugeMetricFamily(
            "eta_scrape_error",
            "1 when a source of the scrape-time figures could not be read.",
            labels=["source"],
        )
        now = utcnow()
        for source, read in (
            ("redis", self._queues),
            ("outbox", self._outbox),
            ("audit", self._audit),
            ("applications", self._applications),
            ("watchlists", self._watchlists),
        ):
            try:
                families = list(read(now))
            except (RedisError, OSError, SQLAlchemyError) as error:
                log.warning("metrics: %s could not be read (%s)", source, type(error).__name__)
                db.session.rollback()
                errors.add_metric([source], 1)
                continue
            errors.add_metric([source], 0)
            yield from families
        db.session.rollback()  # end the read transaction: nothing was written
        yield errors

    def _queues(self, now: dt.datetime) -> Iterator[Metric]:
        connection = redis_client.client
        depth = GaugeMetricFamily(
            "eta_queue_jobs",
            "RQ jobs per queue and state (queued, started, scheduled, deferred, failed).",
            labels=["queue", "state"],
        )
        oldest = GaugeMetricFamily(
            "eta_queue_oldest_job_age_seconds",
            "Age of the oldest job waiting in each RQ queue (0: none waiting).",
            labels=["queue"],
        )
        queues = [Queue(name, connection=connection) for name in ALL_QUEUES]
        states = ("started", "scheduled", "deferred", "failed")
        with connection.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(queue.key)
                pipe.lindex(queue.key, 0)  # RQ pushes on the right and pops on the left
                pipe.zcard(queue.started_job_registry.key)
                pipe.zcard(queue.scheduled_job_registry.key)
                pipe.zcard(queue.deferred_job_registry.key)
                pipe.zcard(queue.failed_job_registry.key)
            replies = pipe.execute()
        heads: list[tuple[str, Any]] = []
        for index, queue in enumerate(queues):
            queued, head, *others = replies[index * 6 : index * 6 + 6]
            depth.add_metric([queue.name, "queued"], queued)
            for state, value in zip(states, others, strict=True):
                depth.add_metric([queue.name, state], value)
            heads.append((queue.name, head))
        waiting = [(name, head) for name, head in heads if head is not None]
        enqueued: list[Any] = []
        if waiting:
            with connection.pipeline(transaction=False) as pipe:
                for _name, head in waiting:
                    job_id = head.decode() if isinstance(head, bytes) else head
                    pipe.hget(
                        f"{Queue.job_class.redis_job_namespace_prefix}{job_id}", "enqueued_at"
                    )
                enqueued = pipe.execute()
        ages = {name: 0.0 for name in ALL_QUEUES}
        for (name, _head), stamp in zip(waiting, enqueued, strict=True):
            if stamp:
                text = stamp.decode() if isinstance(stamp, bytes) else stamp
                ages[name] = _seconds_since(utcparse(text), now)
        for name in ALL_QUEUES:
            oldest.add_metric([name], ages[name])
        yield depth
        yield oldest

    def _outbox(self, now: dt.datetime) -> Iterator[Metric]:
        from eta import outbox

        figures = outbox.status(db.session, now=now)
        for key, help_text in (
            ("not_done", "Outbox rows whose job has not run yet."),
            ("not_sent", "Outbox rows not yet pushed to Redis (waiting for the relay)."),
            ("failing", "Outbox rows whose push to Redis failed at least once."),
            ("oldest_seconds", "Age of the oldest outbox row not done: the outbox's lag."),
        ):
            yield GaugeMetricFamily(f"eta_outbox_{key}", help_text, value=figures[key])

    def _audit(self, now: dt.datetime) -> Iterator[Metric]:
        checkpoint_size = select(
            func.coalesce(func.max(AuditCheckpoint.tree_size), 0)
        ).scalar_subquery()
        row = db.session.execute(
            select(
                select(func.max(AuditCheckpoint.signed_at)).scalar_subquery(),
                checkpoint_size,
                select(func.coalesce(func.max(AuditLogState.tree_size), 0)).scalar_subquery(),
                select(func.count(AuditEvent.id))
                .where(AuditEvent.position.is_(None))
                .scalar_subquery(),
                select(func.min(AuditEvent.at))
                .where(or_(AuditEvent.position.is_(None), AuditEvent.position >= checkpoint_size))
                .scalar_subquery(),
            )
        ).one()
        signed_at, covered, tree_size, unsequenced, oldest_uncovered = row
        yield GaugeMetricFamily(
            "eta_audit_tree_size", "Audit events sequenced into the tree.", value=tree_size
        )
        yield GaugeMetricFamily(
            "eta_audit_checkpoint_tree_size",
            "Tree size of the latest signed checkpoint.",
            value=covered,
        )
        yield GaugeMetricFamily(
            "eta_audit_unsequenced_events",
            "Audit events committed but not yet given a place in the tree.",
            value=unsequenced,
        )
        yield GaugeMetricFamily(
            "eta_audit_checkpoint_lag_seconds",
            "Age of the oldest audit event no signed checkpoint covers yet (0: all covered).",
            value=_seconds_since(oldest_uncovered, now),
        )
        yield GaugeMetricFamily(
            "eta_audit_checkpoint_age_seconds",
            "Time since the latest checkpoint was signed (grows while nothing happens too).",
            value=_seconds_since(signed_at, now),
        )

    def _applications(self, _now: dt.datetime) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "eta_applications_waiting",
            "Applications not decided yet, by status (the status index answers it).",
            labels=["status"],
        )
        counts = dict(
            db.session.execute(
                select(Application.status, func.count(Application.id))
                .where(Application.status.in_(_UNDECIDED))
                .group_by(Application.status)
            ).all()
        )
        for status in _UNDECIDED:
            waiting.add_metric([status.value], counts.get(status, 0))
        yield waiting

    def _watchlists(self, now: dt.datetime) -> Iterator[Metric]:
        labels = ["source"]
        version = GaugeMetricFamily(
            "eta_watchlist_version", "Number of the version in use, per list.", labels=labels
        )
        age = GaugeMetricFamily(
            "eta_watchlist_age_seconds",
            "Time since the version in use was imported, per list.",
            labels=labels,
        )
        entries = GaugeMetricFamily(
            "eta_watchlist_entries", "Entries in the version in use, per list.", labels=labels
        )
        rows = db.session.execute(
            select(
                WatchlistSource.name,
                WatchlistVersion.number,
                WatchlistVersion.imported_at,
                WatchlistVersion.entry_count,
            ).join(WatchlistVersion, WatchlistVersion.id == WatchlistSource.active_version_id)
        ).all()
        for name, number, imported_at, entry_count in rows:
            version.add_metric([name], number)
            age.add_metric([name], _seconds_since(imported_at, now))
            entries.add_metric([name], entry_count)
        yield GaugeMetricFamily(
            "eta_watchlists_loaded", "Lists with a version in use.", value=len(rows)
        )
        yield version
        yield age
        yield entries


_SCRAPE = CollectorRegistry(auto_describe=False)
_SCRAPE.register(ScrapeCollector())


def exposition() -> bytes:
    """Every figure in Prometheus text format: this machine's processes', then scrape-time."""
    directory = multiprocess_dir()
    if directory is not None:
        combined = CollectorRegistry()
        MultiProcessCollector(combined, path=directory)
        counted = generate_latest(combined)
    else:
        counted = generate_latest(REGISTRY)
    return counted + generate_latest(_SCRAPE)


def _authorised(token: str) -> bool:
    supplied = request.headers.get("Authorization", "")
    scheme, _, credentials = supplied.partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


@blueprint.get("/metrics")
@limiter.exempt
def metrics() -> Response:
    """The figures in Prometheus text format, for a holder of ETA_METRICS_TOKEN (404 unset)."""
    token = current_app.config.get("ETA_METRICS_TOKEN")
    if not token:
        abort(404)
    if not _authorised(token):
        return problem_response(
            401,
            "Unauthorized",
            "Send the metrics token as Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(
        exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )


def init_app(app: Flask) -> None:
    """Time and count every request, give it a request id, and serve /metrics."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)
    app.register_blueprint(blueprint)
