"""The warehouse on Spark: tables partitioned by day, the raw days handed over from DuckDB.

pyspark is imported by none of these modules (the `spark` extra is optional): they take a
SparkSession made by the caller.
"""
