"""Nightly personas run: segments, personas and KPI reports for the day before the run, {{ ds }}.

Valid on Airflow 2 (2.4 or later) and Airflow 3: the imports below try Airflow 3's homes first.

Schedule. ``CronDataIntervalTimetable("30 2 * * *")`` makes each run's data interval the day
before it: the run at 02:30 on the 23rd has ``data_interval_start`` = the 22nd 02:30, so
``{{ ds }}`` is the 22nd, a whole day of events. A bare cron string would not say this: Airflow 3
turns it into a ``CronTriggerTimetable`` (``create_cron_data_intervals = False``), whose
``{{ ds }}`` is the day of the run itself, of which only 2.5 hours of events exist.

Order. Each date builds on the outputs of the date before (persona ids, transitions, history), so
``depends_on_past=True``: after a failed night the next one waits until the failed run is fixed and
cleared, instead of publishing a date built on a gap. ``max_active_runs=1`` keeps two dates from
running at once. After a pause, the task runs every date from the day after the last successful
DAG run to ``{{ ds }}`` (``--from``/``--to``, one Spark application, stopping at the first date
that fails); on a normal night that is one date. docs/deploy.md ("Backfills and catching up").

Retries. Exit codes (docs/deploy.md): 0 ok, 1 failure, 2 usage or configuration error, 3 a
data-quality gate failed. Only 1 can go away by itself (a lost executor host, a flaky store); 2 and
3 fail the same way on every attempt. The job runs in a Python callable (``run_personas``) that
raises ``AirflowFailException`` for them, which Airflow documents as "fail the task without
retrying" (the remaining ``retries`` are not used); any other failure raises ``AirflowException``
and is retried. In YARN cluster mode spark-submit does not return the driver's exit code (a
driver's ``System.exit(3)`` ends the application as "Shutdown hook called before final status was
reported"), so a failed gate is recognised there by the run's own evidence: the date's
``runs/dt=<date>/summary.json``, published even when a gate stops the run, says
``failed_quality_gate``. A configuration error in cluster mode leaves no such evidence and is
retried; it fails again within seconds.

Runners, one per deployment (``PERSONAS_RUNNER``): ``spark_submit`` (default) submits the thin
jar in cluster mode, shipping the configuration with ``--files`` (``files=`` below) so the driver,
wherever YARN or Kubernetes starts it, finds it in its working directory as ``personas.conf``;
``personas_cli`` runs ``bin/personas`` (local Spark on the worker) with the file where it is.

Before submitting, a sensor waits for the day's events to have landed (``_SUCCESS`` of the
``dt={{ ds }}`` partition). After the run, a sensor waits for ``runs/dt={{ ds }}/_SUCCESS``,
published last, and then every output table's new partition is made visible to Trino
(``system.sync_partition_metadata``), one task per table of OUTPUT_TABLES. With
``personas.output.catalog`` set and Spark using the same Hive metastore as Trino
(docs/bi.md), the run registers the partitions itself and these tasks only confirm it.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import time
from datetime import date, datetime, timedelta, timezone

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException
from airflow.timetables.interval import CronDataIntervalTimetable

try:  # Airflow 3: the standard provider
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.providers.standard.sensors.filesystem import FileSensor
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator
    from airflow.sensors.filesystem import FileSensor

PERSONAS_HOME = os.environ.get("PERSONAS_HOME", "/opt/personas")
SPARK_SUBMIT = os.environ.get("SPARK_SUBMIT", "spark-submit")
JAR = f"{PERSONAS_HOME}/jobs/target/personas-jobs-0.1.0-SNAPSHOT-spark.jar"
CONFIG = f"{PERSONAS_HOME}/conf/personas.conf"
# Paths the workers' FileSensor sees too (an NFS or FUSE mount of the lake, or a local disk).
EVENTS = "/mnt/lake/events"  # dt=<date>/ partitions, each with _SUCCESS once landed
PROFILES = "/mnt/lake/profiles"
OUTPUT = "/mnt/marts/personas"

RUNNER = os.environ.get("PERSONAS_RUNNER", "spark_submit")  # or personas_cli

# The Parquet tables a run publishes: OutputWriter.TABLES in the code (a test keeps them equal).
OUTPUT_TABLES = [
    "quarantine",
    "features",
    "segments",
    "personas",
    "k_selection",
    "segment_kpis",
    "holdout_uplift",
    "segment_transitions",
    "segment_history",
    "predictions",
    "model_metrics",
]

# Deterministic failures: another attempt fails the same way.
NO_RETRY_EXIT_CODES = {2: "a usage or configuration error", 3: "a data-quality gate failed"}

default_args = {
    "owner": "marketing-data",
    "depends_on_past": True,
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=3),
}


def gate_failed(output: str, first: str, last: str, since: float) -> bool:
    """Whether a run of a date in [first, last] published a summary after ``since`` saying a gate failed."""
    day = date.fromisoformat(first)
    while day <= date.fromisoformat(last):
        summary = os.path.join(output, "runs", f"dt={day.isoformat()}", "summary.json")
        try:
            # File times come from a coarser clock than time.time(): a second's slack.
            if os.path.getmtime(summary) >= since - 1:
                with open(summary, encoding="utf-8") as f:
                    if json.load(f).get("status") == "failed_quality_gate":
                        return True
        except (OSError, ValueError):
            pass
        day += timedelta(days=1)
    return False


def run_personas(command: list[str], first: str, last: str) -> None:
    """Runs ``command`` (spark-submit or bin/personas) and fails without retry on exit codes 2 and 3."""
    started = time.time()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail = collections.deque(maxlen=50)
    for line in proc.stdout:
        print(line, end="")
        tail.append(line)
    code = proc.wait()
    if code == 0:
        return
    if code not in NO_RETRY_EXIT_CODES and gate_failed(OUTPUT, first, last, started):
        code = 3  # cluster mode: the driver's exit code is lost, its summary is not
    if code in NO_RETRY_EXIT_CODES:
        raise AirflowFailException(
            f"personas exited with {code}, {NO_RETRY_EXIT_CODES[code]}: not retried, another attempt fails the"
            f" same way. Fix the input or configuration, then clear this task. {''.join(tail)[-2000:]}"
        )
    raise AirflowException(f"personas exited with {code}; retried. {''.join(tail)[-2000:]}")


with DAG(
    dag_id="personas_nightly",
    description="RFM, lifecycle and machine-learned personas for the day before each run",
    start_date=datetime(2026, 11, 1, tzinfo=timezone.utc),
    # 02:30 UTC, after the events of the day before are landed; {{ ds }} is that day.
    schedule=CronDataIntervalTimetable("30 2 * * *", timezone="UTC"),
    catchup=False,
    max_active_runs=1,  # a date's rerun replaces its partitions; never two at once
    default_args=default_args,
    tags=["personas", "spark"],
) as dag:
    first = "{{ (prev_data_interval_end_success or data_interval_start) | ds }}"
    last = "{{ ds }}"

    def run_args(config: str) -> list[str]:
        return [
            "run",
            "--config", config,
            # Every date since the last successful run, oldest first; just {{ ds }} on a normal night.
            "--from", first,
            "--to", last,
            "--events", EVENTS,
            "--profiles", PROFILES,
            "--output", OUTPUT,
        ]

    def spark_submit(files: list[str], conf: dict[str, str]) -> list[str]:
        """spark-submit in cluster mode; ``files`` are shipped to the driver's working directory."""
        command = [SPARK_SUBMIT, "--deploy-mode", "cluster", "--class", "io.github.personas.jobs.PersonasCli",
                   "--name", "personas-nightly-{{ ds }}", "--driver-memory", "4g", "--executor-memory", "8g",
                   "--executor-cores", "4", "--files", ",".join(files)]
        for key, value in conf.items():
            command += ["--conf", f"{key}={value}"]
        return command + [JAR]

    if RUNNER == "spark_submit":
        command = spark_submit(
            files=[CONFIG],
            conf={
                "spark.sql.shuffle.partitions": "256",
                "spark.dynamicAllocation.enabled": "true",
                "spark.dynamicAllocation.shuffleTracking.enabled": "true",
                # One attempt: a second YARN attempt would hide a failed gate behind a retry.
                "spark.yarn.maxAppAttempts": "1",
            },
        ) + run_args(os.path.basename(CONFIG))  # the shipped copy, in the driver's working directory
    else:
        command = [f"{PERSONAS_HOME}/bin/personas"] + run_args(CONFIG)

    events_landed = FileSensor(
        task_id="events_landed",
        filepath=f"{EVENTS}/dt={{{{ ds }}}}/_SUCCESS",
        poke_interval=300,
        timeout=60 * 60 * 6,
        mode="reschedule",
    )

    nightly = PythonOperator(
        task_id=RUNNER,
        python_callable=run_personas,
        op_kwargs={"command": command, "first": first, "last": last},
    )

    published = FileSensor(
        task_id="published",
        filepath=f"{OUTPUT}/runs/dt={{{{ ds }}}}/_SUCCESS",
        poke_interval=60,
        timeout=60 * 30,
        mode="reschedule",
    )

    events_landed >> nightly >> published
    for table in OUTPUT_TABLES:
        # A table whose stage is off (predictions, model_metrics) has no folder until its first partition.
        published >> BashOperator(
            task_id=f"sync_trino_{table}",
            bash_command=(
                f"if [ ! -d {OUTPUT}/{table} ]; then echo 'no {table} partition yet'; exit 0; fi; "
                f"trino --execute \"CALL hive.system.sync_partition_metadata('personas', '{table}', 'ADD')\""
            ),
        )
