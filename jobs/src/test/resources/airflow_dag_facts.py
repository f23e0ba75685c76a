"""Loads docs/airflow/personas_nightly.py with stand-ins for Airflow's classes and prints what it set up.

Airflow cannot be installed where the tests run, so the DAG file runs against minimal stand-ins with
the module paths of Airflow 2 or of Airflow 3 (argv[2]), which record the arguments the DAG gives
them; the retry policy is exercised by calling the DAG's own callable on commands that exit 0-3.
Prints one JSON object.
"""

import json
import os
import sys
import tempfile
import types

dag_path, layout = sys.argv[1], sys.argv[2]
facts = {"tasks": {}, "edges": []}


class AirflowException(Exception):
    pass


class AirflowFailException(AirflowException):
    pass


class DAG:
    def __init__(self, **kwargs):
        facts["dag"] = kwargs

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Operator:
    def __init__(self, task_id, **kwargs):
        self.task_id = task_id
        self.kwargs = kwargs
        facts["tasks"][task_id] = {"type": type(self).__name__, **kwargs}

    def __rshift__(self, other):
        facts["edges"].append([self.task_id, other.task_id])
        return other


class BashOperator(Operator):
    pass


class PythonOperator(Operator):
    pass


class FileSensor(Operator):
    pass


class CronDataIntervalTimetable:
    def __init__(self, cron, timezone):
        self.cron = cron
        self.timezone = timezone


def module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


module("airflow", **({} if layout == "3" else {"DAG": DAG}))
module("airflow.exceptions", AirflowException=AirflowException, AirflowFailException=AirflowFailException)
module("airflow.timetables")
module("airflow.timetables.interval", CronDataIntervalTimetable=CronDataIntervalTimetable)
if layout == "3":
    module("airflow.sdk", DAG=DAG)
    prefix = "airflow.providers.standard"
    module("airflow.providers")
    module(prefix)
else:
    prefix = "airflow"
module(prefix + ".operators")
module(prefix + ".operators.bash", BashOperator=BashOperator)
module(prefix + ".operators.python", PythonOperator=PythonOperator)
module(prefix + ".sensors")
module(prefix + ".sensors.filesystem", FileSensor=FileSensor)

dag_module = types.ModuleType("personas_nightly")
with open(dag_path, encoding="utf-8") as f:
    exec(compile(f.read(), dag_path, "exec"), dag_module.__dict__)

timetable = facts["dag"]["schedule"]
facts["timetable"] = {"class": type(timetable).__name__, "cron": timetable.cron, "timezone": timetable.timezone}
facts["default_args"] = {k: v for k, v in dag_module.default_args.items() if isinstance(v, (bool, int, str))}
facts["output_tables"] = dag_module.OUTPUT_TABLES
runner = facts["tasks"][dag_module.RUNNER]
facts["command"] = runner["op_kwargs"]["command"]


def outcome(command, first="2024-03-10", last="2024-03-10"):
    try:
        runner["python_callable"](command, first, last)
        return "succeeded"
    except AirflowFailException:
        return "failed without retry"
    except AirflowException:
        return "up for retry"


facts["outcomes"] = {str(code): outcome(["sh", "-c", f"exit {code}"]) for code in range(4)}
with tempfile.TemporaryDirectory() as out:
    # Cluster mode: spark-submit exits 1 whatever the driver's code, the date's summary says why.
    dag_module.OUTPUT = out
    runs = os.path.join(out, "runs", "dt=2024-03-10")
    os.makedirs(runs)
    facts["outcomes"]["1 before a gate summary"] = outcome(
        ["sh", "-c", f"echo '{{\"status\": \"failed_quality_gate\"}}' > {runs}/summary.json; exit 1"])
    hour_ago = os.path.getmtime(os.path.join(runs, "summary.json")) - 3600
    os.utime(os.path.join(runs, "summary.json"), (hour_ago, hour_ago))  # an earlier attempt's
    facts["outcomes"]["1 after an old gate summary"] = outcome(["sh", "-c", "exit 1"], "2024-03-09")
for task in facts["tasks"].values():
    task.pop("python_callable", None)
    task.pop("op_kwargs", None)
print(json.dumps(facts, default=str))
