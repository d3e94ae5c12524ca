"""`make bench`: how fast the pipeline is, stage by stage, and against the usual tools.

`run.py` generates data and runs the pipeline; `timeline.py` reads the stage times back from
Dagster's event log; `memory.py` samples peak memory; `comparisons.py` races our summary, RFM
and CLV fit against lifetimes and pandas on the same data; `targets.py` judges the results
and `results.py` keeps them (bench/results/*.json, BENCHMARKS.md).
"""
