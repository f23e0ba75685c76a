"""Nightly personas run: segments, personas and KPI reports for the logical date {{ ds }}.

Two ways to run the job, pick one per deployment:

* ``spark_submit``: the SparkSubmitOperator (apache-airflow-providers-apache-spark) submits the
  thin jar to the cluster behind the ``spark_default`` connection (YARN, Kubernetes, standalone).
* ``personas_cli``: a BashOperator calling ``bin/personas`` (local Spark on the worker), for small
  data or a single big machine.

Set ``PERSONAS_RUNNER`` to choose; the default is ``spark_submit``.

Exit codes (docs/deploy.md): 0 ok, 1 failure, 2 usage or configuration error, 3 a data-quality
gate failed. Retrying helps only with 1 (a lost executor host, a flaky store); a bad input or
configuration is retried and fails the same way, which costs time but nothing else, because a
rerun of a date replaces exactly that date's partitions. The task log names the gate or key, and
``runs/dt=<date>/summary.json`` holds the measured values.

The sensor waits for ``runs/dt={{ ds }}/_SUCCESS``, which a run publishes last, after every
table's partition: downstream tasks (BI refresh, Trino partition sync, campaign export) start only
on a complete date.

Catching up: each date builds on the one before, so missed dates must run in order. The task runs
every date from the day after the last successful DAG run to ``{{ ds }}`` (``--from``/``--to``, in
one Spark application, stopping at the first date that fails); on a normal night that is one date.
docs/deploy.md ("Backfills and catching up") explains it, and the catchup=True alternative.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sensors.filesystem import FileSensor

PERSONAS_HOME = os.environ.get("PERSONAS_HOME", "/opt/personas")
JAR = f"{PERSONAS_HOME}/jobs/target/personas-jobs-0.1.0-SNAPSHOT-spark.jar"
CONFIG = f"{PERSONAS_HOME}/conf/personas.conf"
EVENTS = "hdfs:///data/events"
PROFILES = "hdfs:///data/profiles"
OUTPUT = "/mnt/marts/personas"  # a path the FileSensor's connection can see, too

RUNNER = os.environ.get("PERSONAS_RUNNER", "spark_submit")  # or personas_cli

default_args = {
    "owner": "marketing-data",
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=3),
}


with DAG(
    dag_id="personas_nightly",
    description="RFM, lifecycle and machine-learned personas for one logical date",
    start_date=datetime(2026, 11, 1),
    schedule="30 2 * * *",  # after the events of the day are landed
    catchup=False,
    max_active_runs=1,  # a date's rerun replaces its partitions; never two at once
    default_args=default_args,
    tags=["personas", "spark"],
) as dag:
    run_args = [
        "run",
        "--config", CONFIG,
        # Every date since the last successful run, oldest first; just {{ ds }} on a normal night.
        "--from", "{{ (prev_data_interval_end_success or data_interval_start) | ds }}",
        "--to", "{{ ds }}",
        "--events", EVENTS,
        "--profiles", PROFILES,
        "--output", OUTPUT,
    ]

    if RUNNER == "spark_submit":
        nightly = SparkSubmitOperator(
            task_id="spark_submit",
            conn_id="spark_default",
            application=JAR,
            java_class="io.github.personas.jobs.PersonasCli",
            application_args=run_args,
            name="personas-nightly-{{ ds }}",
            executor_memory="8g",
            executor_cores=4,
            driver_memory="4g",
            conf={
                "spark.sql.shuffle.partitions": "256",
                "spark.dynamicAllocation.enabled": "true",
                "spark.dynamicAllocation.shuffleTracking.enabled": "true",
                "spark.yarn.maxAppAttempts": "1",
            },
        )
    else:
        # Local Spark on the Airflow worker.
        nightly = BashOperator(
            task_id="personas_cli",
            bash_command=f"{PERSONAS_HOME}/bin/personas " + " ".join(run_args),
            env={"PERSONAS_JAVA_OPTS": "-Xmx8g"},
            append_env=True,
        )

    published = FileSensor(
        task_id="published",
        filepath=f"{OUTPUT}/runs/dt={{{{ ds }}}}/_SUCCESS",
        poke_interval=60,
        timeout=60 * 30,
        mode="reschedule",
    )

    sync_trino = BashOperator(
        task_id="sync_trino_partitions",
        bash_command=(
            "trino --execute \"CALL hive.system.sync_partition_metadata('personas', 'segments', 'ADD')\""
        ),
    )

    nightly >> published >> sync_trino
