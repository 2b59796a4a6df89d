"""`trunkml monitor`: one window of an endpoint's prediction log against the champion's reference profile.

It reports drift statistics, online performance from feedback, the shadow comparison,
and which retraining triggers fired. It only reads: the log (read-only) and the
registry (the champion, its reference profile and its age).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from trunkml.config import Settings, load_project
from trunkml.config.project import MonitoringConfig
from trunkml.config.windows import Window, parse_duration
from trunkml.datasets.profile import PROFILE_SCHEMA, ReferenceProfile, category_key
from trunkml.errors import ConfigError, NoProfile, NotFoundError
from trunkml.evaluation.policy import load_policy
from trunkml.monitoring import drift as d
from trunkml.monitoring.feature_drift import feature_checks, served_features
from trunkml.monitoring.online import OnlineMetrics, bucket_seconds, over_time, per_version
from trunkml.monitoring.retraining import Trigger, evaluate
from trunkml.monitoring.shadow import ShadowReport, shadow_report
from trunkml.registry import CHAMPION, Registry, lineage, show
from trunkml.registry.profiles import load_profile_text
from trunkml.serving.logread import MAX_ROWS, LogReader, concat_blobs
from trunkml.serving.spec import load_endpoint

TOP_TOKENS = 100
NGRAM_FOLD = 256


class MonitorResult(BaseModel):
    """Everything one `trunkml monitor` run found."""

    model_config = ConfigDict(frozen=True)

    model: str
    log: str
    window: str
    online_window: str
    rows: int
    requests: int
    first_ts: float | None
    last_ts: float | None
    version: int | None
    registry_champion: int | None
    version_rows: int
    profile: str
    drift: list[d.DriftStatistic]
    online: list[OnlineMetrics]
    online_over_time: list[OnlineMetrics]
    bucket_seconds: int
    shadow: ShadowReport | None
    triggers: list[Trigger]
    notes: list[str]
    reference: ReferenceProfile | None = Field(default=None, exclude=True)
    samples: dict[str, list[float]] = Field(default_factory=dict, exclude=True)
    categories: dict[str, dict[str, int]] = Field(default_factory=dict, exclude=True)
    """The window's counts per value of each categorical or boolean feature, for the report's pictures."""

    @property
    def fired(self) -> list[Trigger]:
        """The triggers that fired."""
        return [trigger for trigger in self.triggers if trigger.fired]


class MonitorRequest(BaseModel):
    """What to look at: the window (else the project's default) and the endpoint (else the project's)."""

    model_config = ConfigDict(frozen=True)

    window: str | None = None
    online_window: str | None = None
    endpoint: Path | None = None
    now: float | None = None


def _window(request: MonitorRequest, config: MonitoringConfig) -> Window:
    text = request.window or config.window
    try:
        return Window.parse(text)
    except ValueError as exc:
        raise ConfigError(str(exc), hint="e.g. --window 1000 (the last 1000 requests) or --window 1h") from exc


def _online_seconds(request: MonitorRequest, config: MonitoringConfig) -> tuple[str, float]:
    text = request.online_window or config.online_window
    try:
        return text, parse_duration(text)
    except ValueError as exc:
        raise ConfigError(str(exc), hint="e.g. --online-window 7d") from exc


def _profile(registry: Registry, model: str, version: int | None, notes: list[str]) -> ReferenceProfile | None:
    if version is None:
        notes.append("no version to compare with: nothing was served in this window and there is no @champion")
        return None
    try:
        text = load_profile_text(registry, model, version)
    except NoProfile as exc:
        notes.append(f"{exc.message}: drift statistics are not computed")
        return None
    schema = json.loads(text).get("schema_version")
    if schema != PROFILE_SCHEMA:
        raise ConfigError(
            f"{model} v{version}: its reference profile has schema {schema}; this trunkml reads {PROFILE_SCHEMA}",
            hint="use the trunkml version that trained it, or retrain",
        )
    return ReferenceProfile.model_validate_json(text)


def _top_tokens(profile: ReferenceProfile) -> tuple[np.ndarray, np.ndarray]:
    """The reference's most frequent tokens (sorted by hash) and their probabilities plus 'the rest'."""
    keys, counts = profile.vocabulary.arrays()
    top = np.sort(np.argsort(counts, kind="stable")[::-1][:TOP_TOKENS])
    order = np.argsort(keys[top])
    chosen, chosen_counts = keys[top][order], counts[top][order].astype(np.float64)
    total = max(profile.vocabulary.total, 1)
    return chosen, np.append(chosen_counts, total - chosen_counts.sum()) / total


def _folded(buckets: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    folded = np.bincount(buckets.astype(np.int64) % NGRAM_FOLD, weights=weights, minlength=NGRAM_FOLD)
    return folded.astype(np.float64)


def _text_checks(profile: ReferenceProfile, served: pd.DataFrame, limits: dict[str, float]) -> list[d.DriftStatistic]:
    """Drift of what users send: text length, token and 3-gram distributions, the out-of-vocabulary rate."""
    checks = d.numeric_checks("text_length", profile.text_chars, served["text_chars"], limits, 11)
    hashes = concat_blobs(served["tokens"], "<u4").astype(np.uint32)
    if hashes.size and "js_tokens" in limits:
        keys, reference = _top_tokens(profile)
        counts = d.window_vocabulary_counts(hashes, keys)
        checks.append(d.distribution_check("js_tokens", "tokens", reference, counts, limits["js_tokens"], 13))
    if hashes.size and "oov_rate_shift" in limits:
        observed = d.oov_rate(profile, hashes)
        threshold = limits["oov_rate_shift"]
        checks.append(d.rate_check("oov_rate_shift", "tokens", profile.oov_rate, observed, hashes.size, threshold, 17))
    grams = concat_blobs(served["ngrams"], "<u2").astype(np.uint16)
    if grams.size and "js_char_ngrams" in limits:
        ref_keys, ref_counts = profile.ngrams.arrays()
        reference = _folded(ref_keys, ref_counts.astype(np.float64))
        reference /= max(reference.sum(), 1.0)
        threshold = limits["js_char_ngrams"]
        checks.append(d.distribution_check("js_char_ngrams", "char 3-grams", reference, _folded(grams), threshold, 19))
    return checks


def _score_checks(profile: ReferenceProfile, rows: pd.DataFrame, limits: dict[str, float]) -> list[d.DriftStatistic]:
    """Drift of what the model answers (one version's rows), per task.

    Binary: the score distribution and the predicted-positive rate. Multi-class: the predicted-class distribution
    and the top probability. Regression: PSI and KS of the predictions (the ``score`` thresholds).
    """
    if profile.task == "regression":
        renamed = {k.replace("_score", "_prediction"): v for k, v in limits.items() if k.endswith("_score")}
        return d.numeric_checks("prediction", profile.eval_scores, rows["score"], renamed, 23)
    checks = d.numeric_checks("score", profile.eval_scores, rows["score"], limits, 23)
    if profile.task == "multiclass":
        if "js_predicted_classes" in limits and profile.eval_classes:
            classes = sorted({*map(int, profile.eval_classes), *rows["label"].astype(int).unique().tolist()})
            reference = np.array([profile.eval_classes.get(str(k), 0) for k in classes], dtype=np.float64)
            counts = rows["label"].astype(int).value_counts()
            window = np.array([counts.get(k, 0) for k in classes], dtype=np.float64)
            checks.append(d.distribution_check(
                "js_predicted_classes", "predicted classes", reference / reference.sum(), window,
                limits["js_predicted_classes"], 29,
            ))  # fmt: skip
        return checks
    if "positive_rate_shift" in limits:
        observed = float(rows["label"].mean())
        threshold = limits["positive_rate_shift"]
        checks.append(d.rate_check(
            "positive_rate_shift", "predicted positives", profile.eval_positive_rate, observed, len(rows), threshold, 29
        ))  # fmt: skip
    return checks


def _limits(config: MonitoringConfig) -> dict[str, float]:
    """The enabled statistics and their thresholds."""
    values = config.drift.model_dump(exclude={"features"})
    return {name: value for name, value in values.items() if value is not None}


def _serving_version(served: pd.DataFrame) -> int | None:
    """The version that answered the window's most recent champion-route request."""
    champion = served[served["route"] == "champion"]
    return int(champion["version"].iloc[-1]) if not champion.empty else None


def _drift(
    profile: ReferenceProfile | None, served: pd.DataFrame, version_rows: pd.DataFrame, config: MonitoringConfig,
    notes: list[str],
) -> list[d.DriftStatistic]:  # fmt: skip
    if profile is None:
        return []
    if len(served) < config.min_rows:
        notes.append(
            f"only {len(served)} texts in the window; drift is judged from {config.min_rows} (monitoring.min_rows)"
        )
        return []
    limits = _limits(config)
    if profile.features:
        texts = {name for name, kind in profile.feature_kinds.items() if kind == "text"}
        checks = feature_checks(profile, served["features"], config.drift, texts)
        if served["features"].isna().all():
            notes.append("the log holds no feature values for this window (log.features is off, or an older server)")
    else:
        checks = _text_checks(profile, served, limits)
        if served["tokens"].isna().all():
            notes.append("the log holds no token features for this window (log.features is off, or an older server)")
    if len(version_rows) >= config.min_rows:
        checks += _score_checks(profile, version_rows, limits)
    else:
        notes.append(f"only {len(version_rows)} texts answered by the serving version; score drift is not judged")
    return checks


def _traffic_notes(served: pd.DataFrame, window: Window, notes: list[str]) -> None:
    if served.empty:
        notes.append(f"no served traffic in the {window.text}: is the endpoint up, and is this its log?")
    elif len(served) >= MAX_ROWS:
        notes.append(f"the window was cut to its newest {MAX_ROWS:,} texts")


def run_monitor(settings: Settings, request: MonitorRequest) -> MonitorResult:
    """Read one window of the endpoint's log and compare it with the serving version's reference."""
    config = load_project(settings.project_root).monitoring
    window = _window(request, config)
    online_text, online_seconds = _online_seconds(request, config)
    spec = load_endpoint(settings, request.endpoint)
    now = request.now or time.time()
    notes: list[str] = []
    reader = LogReader(spec.log_path(settings))
    try:
        served = reader.served(spec.model, window, now)
        labelled = reader.labelled(spec.model, now - online_seconds)
        registry = Registry(settings)
        champion = _registry_champion(registry, spec.model)
        version = _serving_version(served) or (champion[0] if champion else None)
        _traffic_notes(served, window, notes)
        profile = _profile(registry, spec.model, version, notes)
        version_rows = served[served["version"] == version] if version is not None else served.iloc[:0]
        checks = _drift(profile, served, version_rows, config, notes)
        task = profile.task if profile is not None else _task(registry, spec.model, version)
        policy = load_policy(settings.project_root, task)
        shadow = shadow_report(reader, spec.model, version, policy, profile, config.shadow_loss_bound)
    finally:
        reader.close()
    online = per_version(labelled, task)
    span = float(labelled["ts"].max() - labelled["ts"].min()) if not labelled.empty else 0.0
    width = bucket_seconds(span)
    if champion and version is not None and champion[0] != version:
        notes.append(f"the registry's @champion is v{champion[0]}; the window was served by v{version}")
    aged = (champion[0], now - champion[1] / 1000) if champion else None
    return MonitorResult(
        model=spec.model, log=str(reader.path), window=window.text, online_window=f"last {online_text}",
        rows=len(served), requests=len(served.groupby(["request_id", "ts"])), first_ts=_ts(served, "min"),
        last_ts=_ts(served, "max"), version=version, registry_champion=champion[0] if champion else None,
        version_rows=len(version_rows), profile="verified" if profile else "missing", drift=checks, online=online,
        online_over_time=over_time(labelled, width, task), bucket_seconds=width, shadow=shadow,
        triggers=evaluate(config.triggers, checks, online, version, aged), notes=notes, reference=profile,
        samples={
            "text_length": served["text_chars"].astype(float).tolist() if profile and not profile.features else [],
            "score": version_rows["score"].astype(float).tolist(),
            **_feature_samples(profile, served),
        },
        categories=_feature_categories(profile, served),
    )  # fmt: skip


def _feature_samples(profile: ReferenceProfile | None, served: pd.DataFrame) -> dict[str, list[float]]:
    """The window's values of each numeric feature (``feature:<name>``), for the report's histograms."""
    if profile is None or not profile.features:
        return {}
    window = served_features(served["features"])
    numeric = [name for name, kind in profile.feature_kinds.items() if kind == "numeric" and name in window]
    return {f"feature:{name}": pd.to_numeric(window[name], errors="coerce").dropna().tolist() for name in numeric}


def _feature_categories(profile: ReferenceProfile | None, served: pd.DataFrame) -> dict[str, dict[str, int]]:
    """The window's counts per value of each categorical or boolean feature."""
    if profile is None or not profile.features:
        return {}
    window = served_features(served["features"])
    found: dict[str, dict[str, int]] = {}
    for name, kind in profile.feature_kinds.items():
        if kind in ("categorical", "boolean") and name in window:
            keys = [key for key in map(category_key, window[name].tolist()) if key is not None]
            found[name] = {key: keys.count(key) for key in set(keys)}
    return found


def _task(registry: Registry, model: str, version: int | None) -> str:
    """The version's task from its registry tag when its profile is missing (binary for versions before tasks)."""
    if version is None:
        return "binary"
    try:
        return show(registry, model, str(version)).raw_tags.get(lineage.TASK, "binary")
    except NotFoundError:
        return "binary"


def _ts(frame: pd.DataFrame, how: str) -> float | None:
    return None if frame.empty else float(frame["ts"].agg(how))


def _registry_champion(registry: Registry, model: str) -> tuple[int, int] | None:
    """(version, training time in ms) of the registry's @champion, or None.

    The training time is the version's ``trunkml.trained_at`` tag, which copies into other
    registries keep; versions registered before it existed fall back to their creation time.
    """
    try:
        record = show(registry, model, f"@{CHAMPION}")
    except NotFoundError:
        return None
    trained = record.raw_tags.get(lineage.TRAINED_AT, "")
    return record.version, int(trained) if trained.isdigit() else record.created_ms
