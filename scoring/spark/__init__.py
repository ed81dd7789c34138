"""Scoring and reliability analysis on Apache Spark (``pip install 'psyscore[spark]'``).

* :func:`score` — :func:`scoring.score` on a Spark DataFrame, computed by the engine itself inside Spark
  (``mapInArrow``: one Arrow batch at a time, the definition broadcast once per executor); the same columns,
  rules and failures as on one machine.
* :func:`analyze` — :func:`scoring.reliability.analyze` from per-partition sufficient statistics (counts,
  sums, cross-products and pair counts) combined on the driver; equal to the single-machine report to 1e-9.

Neither ``import scoring`` nor ``import scoring.spark`` imports pyspark: it is imported when a function here is
called.
"""

from scoring.spark._analyze import analyze
from scoring.spark._score import SparkScoreResult, score

__all__ = ["SparkScoreResult", "analyze", "score"]
