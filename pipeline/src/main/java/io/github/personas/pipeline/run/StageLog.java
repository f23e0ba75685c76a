package io.github.personas.pipeline.run;

import io.github.personas.pipeline.io.OutputWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The log book of one stage while it runs: names its Spark jobs, times it, writes its tables
 * and records its warnings and gates, then becomes the stage's {@link StageReport}.
 */
final class StageLog implements AutoCloseable {

  private static final Logger LOG = LogManager.getLogger(StageLog.class);

  private final Stage stage;
  private final RunContext ctx;
  private final long t0 = System.nanoTime();
  private final List<StageReport.TableWrite> tables = new ArrayList<>();
  private final Map<String, String> files = new LinkedHashMap<>();
  private final List<String> warnings = new ArrayList<>();
  private final List<QualityGates.Result> gates = new ArrayList<>();
  private boolean open = true;

  private StageLog(Stage stage, RunContext ctx) {
    this.stage = stage;
    this.ctx = ctx;
  }

  /** Starts the log of {@code stage}: its Spark jobs are grouped under its name in the Spark UI. */
  static StageLog start(Stage stage, RunContext ctx) {
    ctx.spark().sparkContext().setJobGroup(stage.jobGroup(), "personas " + stage + " for " + ctx.date(), false);
    LOG.info("Stage {} for {} started", stage, ctx.date());
    return new StageLog(stage, ctx);
  }

  /** Writes {@code df} ({@code rows} rows, counted by the caller) as this date's partition of {@code table}. */
  void write(String table, Dataset<Row> df, long rows) {
    long t = System.nanoTime();
    OutputWriter out = ctx.out();
    out.write(table, df, rows);
    tables.add(new StageReport.TableWrite(table, rows, out.partition(table)));
    LOG.info("Wrote {} rows to {} in {} s", rows, out.partition(table), seconds(t));
  }

  /** Records an output that is not a table (a model, a report), by name and published path. */
  void file(String name, String path) {
    files.put(name, path);
  }

  /** Records a warning, logged now and listed in the summary. */
  void warn(String warning) {
    LOG.warn(warning);
    warnings.add(warning);
  }

  /** Records gate results (a failed one stops the run after this stage); a near miss is also a warning. */
  void gate(List<QualityGates.Result> results) {
    for (QualityGates.Result r : results) {
      gates.add(r);
      LOG.info(r.message());
      if (r.status() == QualityGates.Status.WARNING) {
        warnings.add(r.message());
      }
    }
  }

  /** The stage's report, as of now; the log closes. */
  StageReport finish() {
    close();
    return new StageReport(stage, seconds(t0), tables, files, warnings, gates);
  }

  /** Ends the stage's job group (also when the stage failed). */
  @Override
  public void close() {
    if (open) {
      open = false;
      ctx.spark().sparkContext().clearJobGroup();
      LOG.info("Stage {} finished in {} s", stage, seconds(t0));
    }
  }

  static double seconds(long t0) {
    return seconds(t0, System.nanoTime());
  }

  /** Seconds from {@code t0} to {@code t1} ({@link System#nanoTime}), to the hundredth. */
  static double seconds(long t0, long t1) {
    return Math.round((t1 - t0) / 1e7) / 100.0;
  }
}
