"""The warehouse on Spark: the session, tables partitioned by day, the raw days handed over from
DuckDB, and what Spark built copied back into the DuckDB file.

Only `session.py` imports pyspark, when a session is made (the `spark` extra is optional); the
other modules take the SparkSession they are given.
"""
