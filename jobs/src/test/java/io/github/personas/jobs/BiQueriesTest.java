package io.github.personas.jobs;

import static io.github.personas.jobs.CliTesting.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.OutputSchemas;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outputs as a BI tool sees them: every DuckDB query in docs/bi.md runs against a real run's
 * output and returns rows, and the column types DuckDB reads equal docs/output-schemas.tsv.
 */
class BiQueriesTest {

  /** The tables a run writes, in the order of docs/output-schemas.tsv. */
  static final List<String> TABLES = List.of("quarantine", "features", "segments", "personas", "k_selection",
      "segment_kpis", "holdout_uplift", "segment_transitions", "segment_history", "predictions", "model_metrics");

  private static final Path SCHEMAS = Path.of("../docs/output-schemas.tsv");
  private static final Pattern SQL = Pattern.compile("```sql\\n(.*?)```", Pattern.DOTALL);

  @TempDir
  static Path dir;

  private static Path out;

  @BeforeAll
  static void oneRun() throws Exception {
    SparkTestSession.get();
    String gen = dir.resolve("gen").toString();
    assertEquals(0, cli("generate", "--users", "300", "--days", "30", "--end-date", "2024-03-10", "--seed", "9",
        "--out", gen));
    out = dir.resolve("output");
    assertEquals(0, cli("run", "--config", CliTesting.fewKConfig(dir).toString(), "--events", gen + "/events",
        "--profiles", gen + "/profiles", "--date", "2024-03-10", "--output", out.toString()));
    // 300 users train no propensity model, so the run writes no model_metrics: its rows are written
    // here with the stage's own schema, as the stage writes them, for its columns to be pinned too.
    Path metrics = out.resolve("model_metrics/dt=2024-03-10");
    assertTrue(!Files.exists(metrics), "a run of 300 users trained a propensity model: drop this stand-in");
    SparkTestSession.get().createDataFrame(List.of(
            org.apache.spark.sql.RowFactory.create("purchase_propensity_30d", 30, "auc_roc", null, 0.81),
            org.apache.spark.sql.RowFactory.create("purchase_propensity_30d", 30, "observed_rate", 1, 0.62)),
        io.github.personas.pipeline.run.PredictStage.METRICS_SCHEMA).coalesce(1).write().parquet(metrics.toString());
  }

  /** The schema of every table as DuckDB reads it: table, column, type per line. */
  private static List<String> schemas(Statement s) throws Exception {
    List<String> lines = new ArrayList<>();
    for (String t : TABLES) {
      try (ResultSet rs = s.executeQuery("DESCRIBE SELECT * FROM read_parquet('" + out + "/" + t
          + "/*/*.parquet', hive_partitioning = true)")) {
        while (rs.next()) {
          lines.add(t + "\t" + rs.getString("column_name") + "\t" + rs.getString("column_type"));
        }
      }
    }
    return lines;
  }

  @Test
  void outputSchemasAreThePinnedOnes() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
      List<String> actual = schemas(s);
      if (Boolean.getBoolean("personas.updateSchemas")) {
        Files.writeString(SCHEMAS, "table\tcolumn\ttype\n" + String.join("\n", actual) + "\n");
        // The guide's Spark and Trino DDL is generated from the pinned schemas (BiGuideDdlTest checks it).
        OutputSchemas.write(OutputSchemas.withDdl(Files.readString(OutputSchemas.BI_GUIDE), OutputSchemas.read()));
      }
      List<String> pinned = Files.readAllLines(SCHEMAS);
      assertEquals(String.join("\n", pinned.subList(1, pinned.size())), String.join("\n", actual),
          "An output schema changed. If that is deliberate, rerun with -Dpersonas.updateSchemas=true, review the"
              + " diff of docs/output-schemas.tsv (and of docs/bi.md's DDL) and say why in the commit message: BI"
              + " dashboards read these columns.");
    }
  }

  @Test
  void everyDuckDbQueryInTheBiGuideRunsAndReturnsRows() throws Exception {
    String doc = Files.readString(Path.of("../docs/bi.md"));
    String duckdb = doc.substring(doc.indexOf("## DuckDB"), doc.indexOf("## Trino"));
    Matcher m = SQL.matcher(duckdb);
    int queries = 0;
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
      while (m.find()) {
        String sql = m.group(1).replace("'output/", "'" + out + "/").replace("2026-11-22", "2024-03-10").trim();
        queries++;
        if (sql.startsWith("CREATE")) {
          s.execute(sql);
          continue;
        }
        try (ResultSet rs = s.executeQuery(sql)) {
          assertTrue(rs.next(), "no rows from docs/bi.md query:\n" + sql);
        }
      }
    }
    assertTrue(queries >= 10, "queries found in docs/bi.md: " + queries);
  }

  private static final Pattern NOTEBOOK_SQL = Pattern.compile("sql\\(\\s*\"\"\"(.*?)\"\"\"", Pattern.DOTALL);
  private static final Pattern TABLE_PATH = Pattern.compile("\\{out\\}/([a-z_]+)/");

  @Test
  void notebooksAreValidAndEveryQueryRunsOnThePublishedTables() throws Exception {
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    List<Path> notebooks;
    try (var files = Files.list(Path.of("../notebooks"))) {
      notebooks = files.filter(p -> p.toString().endsWith(".ipynb")).sorted().toList();
    }
    assertEquals(3, notebooks.size(), "personas, k selection and two-date notebooks: " + notebooks);
    int queries = 0;
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
      for (Path nb : notebooks) {
        var root = json.readTree(nb.toFile());
        assertEquals(4, root.path("nbformat").asInt(), nb + ": nbformat 4");
        assertTrue(root.path("metadata").has("kernelspec"), nb + ": a kernelspec");
        StringBuilder code = new StringBuilder();
        for (var cell : root.path("cells")) {
          String type = cell.path("cell_type").asText();
          assertTrue(List.of("code", "markdown").contains(type), nb + ": cell type " + type);
          assertTrue(cell.path("source").isArray(), nb + ": source is a list of lines");
          if (type.equals("code")) {
            assertTrue(cell.path("outputs").isArray() && cell.path("outputs").isEmpty(),
                nb + ": committed without outputs, so diffs stay readable");
            cell.path("source").forEach(line -> code.append(line.asText()));
            code.append("\n");
          }
        }
        python("import ast, sys; ast.parse(sys.stdin.read())", code.toString(), nb.toString());
        Matcher m = NOTEBOOK_SQL.matcher(code);
        while (m.find()) {
          String sql = m.group(1);
          Matcher t = TABLE_PATH.matcher(sql);
          while (t.find()) {
            assertTrue(TABLES.contains(t.group(1)), nb + " reads an unknown table " + t.group(1));
          }
          sql = sql.replace("{out}", out.toString()).replace("{date}", "2024-03-10")
              .replace("{before}", "2024-03-09").replace("{persona}", "P01");
          try (ResultSet rs = s.executeQuery(sql)) {
            rs.next(); // a column or table the notebook names that is not there fails here
          } catch (java.sql.SQLException e) {
            throw new AssertionError(nb + ": " + e.getMessage() + "\n" + sql, e);
          }
          queries++;
        }
      }
    }
    assertTrue(queries >= 10, "queries found in the notebooks: " + queries);
  }

  @Test
  void theAirflowDagCompiles() throws Exception {
    Path dag = Path.of("../docs/airflow/personas_nightly.py");
    python("import sys; compile(sys.stdin.read(), '" + dag + "', 'exec')", Files.readString(dag), dag.toString());
  }

  /**
   * The DAG's settings as it gives them to Airflow's classes, under Airflow 2's and Airflow 3's
   * module paths (src/test/resources/airflow_dag_facts.py says how), and what its Spark task does
   * when the job exits with each code.
   */
  @Test
  void theAirflowDagRunsTheDayBeforeAfterTheLastRetriesOnlyFailuresThatCanPassAndSyncsEveryTable() throws Exception {
    for (String airflow : List.of("2", "3")) {
      com.fasterxml.jackson.databind.JsonNode dag = dagFacts(airflow);
      String on = "Airflow " + airflow + ": ";
      assertEquals("{\"class\":\"CronDataIntervalTimetable\",\"cron\":\"30 2 * * *\",\"timezone\":\"UTC\"}",
          dag.get("timetable").toString(), on + "{{ ds }} is the day before the run, not the run's own day");
      assertTrue(dag.at("/default_args/depends_on_past").asBoolean(), on + "a date waits for the one before");
      assertEquals(2, dag.at("/default_args/retries").asInt(), on + "retries");
      assertEquals(Map.of("0", "succeeded", "1", "up for retry", "2", "failed without retry", "3", "failed without retry",
              "1 before a gate summary", "failed without retry", "1 after an old gate summary", "up for retry"),
          new com.fasterxml.jackson.databind.ObjectMapper().convertValue(dag.get("outcomes"), Map.class),
          on + "exit codes 2 and 3 (and a gate's summary in cluster mode) are not retried");

      List<String> synced = new ArrayList<>();
      dag.get("tasks").fields().forEachRemaining(t -> {
        String table = t.getKey().replaceFirst("^sync_trino_", "");
        if (!table.equals(t.getKey())) {
          assertTrue(t.getValue().path("bash_command").asText()
              .contains("sync_partition_metadata('personas', '" + table + "', 'ADD')"), t.getKey());
          synced.add(table);
        }
      });
      assertEquals(io.github.personas.pipeline.io.OutputWriter.TABLES, synced, on + "every output table is synced");
      List<String> edges = new ArrayList<>();
      dag.get("edges").forEach(e -> edges.add(e.get(0).asText() + " >> " + e.get(1).asText()));
      List<String> expectedEdges = new ArrayList<>(List.of("events_landed >> spark_submit", "spark_submit >> published"));
      synced.forEach(t -> expectedEdges.add("published >> sync_trino_" + t));
      assertEquals(expectedEdges, edges, on + "the input sensor first, the syncs after the publish");
      assertEquals("/mnt/lake/events/dt={{ ds }}/_SUCCESS", dag.at("/tasks/events_landed/filepath").asText());

      String command = String.join(" ", new com.fasterxml.jackson.databind.ObjectMapper()
          .convertValue(dag.get("command"), String[].class));
      for (String part : List.of("--deploy-mode cluster", "--files /opt/personas/conf/personas.conf",
          "run --config personas.conf --from {{ (prev_data_interval_end_success or data_interval_start) | ds }}"
              + " --to {{ ds }}")) {
        assertTrue(command.contains(part), on + "the configuration is shipped and read from the driver's folder: "
            + part + " in " + command);
      }
    }
  }

  private static com.fasterxml.jackson.databind.JsonNode dagFacts(String airflowVersion) throws Exception {
    Process p = new ProcessBuilder("python3", "src/test/resources/airflow_dag_facts.py",
        "../docs/airflow/personas_nightly.py", airflowVersion).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), output);
    // The job's own output (the stand-in commands') comes first; the facts are the last line.
    List<String> lines = output.lines().toList();
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(lines.size() - 1));
  }

  /** Runs {@code program} with python3 on {@code stdin}; fails with python's message. */
  private static void python(String program, String stdin, String what) throws Exception {
    Process p = new ProcessBuilder("python3", "-c", program).redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      in.write(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), what + " is not valid Python 3:\n" + output);
  }
}
