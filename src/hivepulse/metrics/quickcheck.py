"""DORA Quick Check scores (2025 edition) of measured metrics: the default benchmark of a report.

The Quick Check (https://dora.dev/quickcheck/, app in dora-team/dora.dev ``svelte/quick-check/src/lib/``) asks a
team five questions and scores each answer 0-10 (10 best): an answer 1..6 for lead time, deployment frequency
and recovery time maps linearly to 0..10; change fail rate and rework rate are percentages scored
``10 - percent / 10``. Overall is the mean of the five scores, throughput the mean of lead time, deployment
frequency and recovery, stability the mean of change fail rate and rework rate.

hivepulse answers the questions from measurements (the rule is in ``data/quickcheck.yaml`` and
``docs/metrics.md``, "Quick Check"): the median lead and recovery times fall into the duration buckets
(lower edge inclusive, upper edge exclusive), deployment frequency into the deployments-per-day buckets
(compared exactly in integers), the rates are used as measured. A metric without a value (n = 0) is not
answered: the Quick Check's overall average skips unanswered metrics, and hivepulse applies the same rule to the
two groups (a group with no answered metric is ``None``). Pure: no I/O beyond the shipped table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

from hivepulse.errors import InputError

EDITION = "2025"
"""The Quick Check edition hivepulse scores with."""
QUICK_CHECK_METRICS: tuple[str, ...] = ("lead_time", "deployment_frequency", "recovery_time", "change_fail_rate",
                                        "rework_rate")
"""The five metrics in the Quick Check's order (throughput first, then stability)."""
AnswerType = Literal["categorical", "percentage"]


@lru_cache(maxsize=1)
def load_table() -> Mapping[str, Any]:
    """The parsed ``quickcheck.yaml`` (cached)."""
    text = resources.files("hivepulse").joinpath("data/quickcheck.yaml").read_text(encoding="utf-8")
    table: Mapping[str, Any] = yaml.safe_load(text)  # package data, read-only: the YAML edge
    return table


def edition(name: str = EDITION) -> Mapping[str, Any]:
    """One edition of the table; unknown names raise :class:`InputError`."""
    table = load_table()["editions"]
    if str(name) not in table:
        raise InputError("unknown Quick Check edition", value=name, expected=" or ".join(sorted(table)))
    out: Mapping[str, Any] = table[str(name)]
    return out


@dataclass(frozen=True)
class Benchmark:
    """A benchmark on the score scale: mean and standard deviation (2025, all industries)."""

    mean: float
    sd: float

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "sd": self.sd}


@dataclass(frozen=True)
class QuickCheckScore:
    """One metric's Quick Check answer and score.

    ``type`` is ``categorical`` (``answer`` 1..6 with its ``text``) or ``percentage`` (``percent`` 0..100,
    ``answer`` None). ``score`` is 0-10 (10 best), ``None`` when the metric has no value (not answered).
    """

    metric: str
    type: AnswerType
    answer: int | None
    percent: float | None
    text: str
    score: float | None
    benchmark: Benchmark

    @property
    def answered(self) -> bool:
        return self.score is not None

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type, "answer": self.answer, "percent": self.percent, "text": self.text,
                "score": self.score, "benchmark": self.benchmark.to_dict()}


@dataclass(frozen=True)
class QuickCheck:
    """The Quick Check of one window: the five scores, overall, throughput and stability (``None`` when
    nothing in it is answered), the metrics left out (no value) and the benchmark of the same edition."""

    edition: str
    overall: float | None
    throughput: float | None
    stability: float | None
    scores: Mapping[str, QuickCheckScore]
    missing: tuple[str, ...]
    benchmark_name: str
    benchmark: Mapping[str, Benchmark]

    def get(self, metric: str) -> QuickCheckScore:
        return self.scores[metric]

    def to_dict(self) -> dict[str, object]:
        """The ``quick_check`` block of the JSON contract (unrounded; the report's ``to_dict`` rounds)."""
        return {
            "edition": self.edition,
            "overall": self.overall,
            "throughput": self.throughput,
            "stability": self.stability,
            "metrics": {m: self.scores[m].to_dict() for m in QUICK_CHECK_METRICS},
            "missing": list(self.missing),
            "benchmark": {"name": self.benchmark_name,
                          **{k: self.benchmark[k].to_dict() for k in ("overall", "throughput", "stability")}},
        }


# ---------------------------------------------------------------------------------------------- answers


def _answers(spec: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """The answers of a categorical metric, best (6) first."""
    return sorted(((int(k), v) for k, v in spec["answers"].items()), reverse=True)


def duration_answer(hours: float, metric: str = "lead_time", edition_name: str = EDITION) -> int:
    """The answer (1..6) a median duration in hours falls into: the best answer whose ``below_hours`` edge is
    above it (exclusive: 24 h is not "less than one day"); 1 when it is at or above the last edge."""
    spec = edition(edition_name)["metrics"][metric]
    for answer, bucket in _answers(spec):
        edge = bucket.get("below_hours")
        if edge is None or hours < float(edge):
            return answer
    return 1


def frequency_answer(deployments: int, window_days: float, edition_name: str = EDITION) -> int:
    """The answer (1..6) of ``deployments`` counted over ``window_days`` days: the best answer with
    ``deployments * per_days >= at_least * window_days`` (exact; zero deployments is answer 1)."""
    spec = edition(edition_name)["metrics"]["deployment_frequency"]
    for answer, bucket in _answers(spec):
        if "at_least" not in bucket:
            return answer
        if deployments > 0 and deployments * int(bucket["per_days"]) >= int(bucket["at_least"]) * window_days:
            return answer
    return 1


def answer_text(metric: str, answer: int, edition_name: str = EDITION) -> str:
    """The Quick Check's text of ``answer`` for a categorical ``metric``."""
    return str(edition(edition_name)["metrics"][metric]["answers"][answer]["text"])


def categorical_score(answer: int) -> float:
    """Answer 1..6 -> 0..10 linearly (clamped), as the Quick Check's ``calculatePerformanceScore``."""
    clamped = min(max(answer, 1), 6)
    return (clamped - 1) / 5 * 10


def percentage_score(percent: float) -> float:
    """0 % -> 10, 100 % -> 0 linearly (clamped): ``10 - percent / 10``."""
    clamped = min(max(percent, 0.0), 100.0)
    return 10 - clamped / 10


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def score(
    values: Mapping[str, float | None],
    *,
    deployments: int,
    window_days: float,
    edition_name: str = EDITION,
) -> QuickCheck:
    """The Quick Check of measured values.

    ``values``: per metric name the measured value (hours for lead and recovery time, fractions for the two
    rates; ``None`` when there is none); deployment frequency is scored from ``deployments`` counted over
    ``window_days`` (its value in ``values`` is not used). A metric whose value is ``None`` is not answered.
    """
    spec = edition(edition_name)
    bench = {k: Benchmark(float(v["mean"]), float(v["sd"])) for k, v in spec["benchmark"].items() if k != "name"}
    scores: dict[str, QuickCheckScore] = {}
    for metric in QUICK_CHECK_METRICS:
        kind: AnswerType = spec["metrics"][metric]["type"]
        if kind == "percentage":
            value = values.get(metric)
            if value is None:
                scores[metric] = QuickCheckScore(metric, kind, None, None, "no value (not answered)", None,
                                                 bench[metric])
                continue
            percent = 100.0 * float(value)
            scores[metric] = QuickCheckScore(metric, kind, None, percent, f"{percent:.1f}% of deployments",
                                             percentage_score(percent), bench[metric])
            continue
        if metric == "deployment_frequency":
            answer: int | None = frequency_answer(deployments, window_days, edition_name)
        else:
            value = values.get(metric)
            answer = None if value is None else duration_answer(float(value), metric, edition_name)
        if answer is None:
            scores[metric] = QuickCheckScore(metric, kind, None, None, "no value (not answered)", None, bench[metric])
        else:
            scores[metric] = QuickCheckScore(metric, kind, answer, None, answer_text(metric, answer, edition_name),
                                             categorical_score(answer), bench[metric])

    def group(names: list[str]) -> float | None:
        return _mean([s for m in names if (s := scores[m].score) is not None])

    return QuickCheck(
        edition=str(edition_name),
        overall=group(list(QUICK_CHECK_METRICS)),
        throughput=group(list(spec["groups"]["throughput"])),
        stability=group(list(spec["groups"]["stability"])),
        scores=scores,
        missing=tuple(m for m in QUICK_CHECK_METRICS if scores[m].score is None),
        benchmark_name=str(spec["benchmark"]["name"]),
        benchmark=bench,
    )


__all__ = ["EDITION", "QUICK_CHECK_METRICS", "Benchmark", "QuickCheck", "QuickCheckScore", "answer_text",
           "categorical_score", "duration_answer", "edition", "frequency_answer", "load_table",
           "percentage_score", "score"]
