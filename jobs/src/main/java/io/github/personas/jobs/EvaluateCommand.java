package io.github.personas.jobs;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.evaluate.ClusterAgreement;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.run.DataQualityException;
import io.github.personas.pipeline.run.RunSummary;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Compares a run's personas and segments with known labels (the generator's planted truth). */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Compares the date's segments with true labels, one per user: the adjusted Rand index (ARI) of",
        "persona_id, rfm_segment and lifecycle_stage against them, and the persona x truth table.",
        "ARI is 1 for the same partition (whatever the names), about 0 for a random one.",
        "Writes <output>/runs/dt=<date>/evaluation.json."},
    footer = {"", "Example (the generator writes truth/ beside events/):",
        "  personas generate --users 100000 --end-date 2026-11-22 --out /tmp/g",
        "  personas run --events /tmp/g/events --profiles /tmp/g/profiles --date 2026-11-22 --output /tmp/o",
        "  personas evaluate --truth /tmp/g/truth --date 2026-11-22 --output /tmp/o --min-ari 0.8"})
final class EvaluateCommand implements Callable<Integer> {

  @ParentCommand
  PersonasCli parent;

  @Option(names = "--date", required = true, paramLabel = "YYYY-MM-DD", converter = Converters.DateConverter.class,
      description = "The run date whose segments to evaluate.")
  java.time.LocalDate date;

  @Mixin
  CommonOptions common;

  @Option(names = "--truth", required = true, paramLabel = "PATH",
      description = "Parquet with columns user_id and persona (the true label), e.g. generate's <out>/truth.")
  String truth;

  @Option(names = "--min-ari", paramLabel = "X", defaultValue = "-1",
      description = "Exit with code 3 when the ARI of persona_id is below X (default: never).")
  double minAri;

  @Override
  public Integer call() {
    PersonasConfig config = common.load();
    SparkSession spark = SparkSessions.create("personas evaluate " + date, common.master);
    OutputWriter out = new OutputWriter(spark, config.outputPath(), date, config.filesPerPartition(), config.rowsPerFile());
    Dataset<Row> segments;
    try {
      segments = out.read(OutputWriter.SEGMENTS);
    } catch (Exception e) {
      throw ConfigException.of("No segments for %s under %s: run `personas run --date %s` first (%s)",
          date, config.outputPath(), date, e.getMessage().lines().findFirst().orElse(""));
    }
    Dataset<Row> labels;
    try {
      labels = spark.read().parquet(truth);
    } catch (Exception e) {
      throw ConfigException.of("Cannot read --truth %s as Parquet: %s", truth,
          e.getMessage().lines().findFirst().orElse(""));
    }
    if (!List.of(labels.columns()).containsAll(List.of("user_id", "persona"))) {
      throw ConfigException.of("--truth %s needs columns user_id and persona, has %s", truth, List.of(labels.columns()));
    }
    Dataset<Row> joined = segments.join(labels.select("user_id", "persona"), "user_id").cache();
    long truthUsers = labels.count();
    long segmentUsers = segments.count();
    long both = joined.count();

    PrintWriter o = parent.out();
    o.printf("personas evaluate for %s: %,d users in segments, %,d in truth, %,d in both%n", date, segmentUsers,
        truthUsers, both);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("run_date", date.toString());
    json.put("truth", truth);
    json.put("users_segments", segmentUsers);
    json.put("users_truth", truthUsers);
    json.put("users_both", both);
    Map<String, Object> aris = new LinkedHashMap<>();
    ClusterAgreement personas = null;
    for (String column : List.of("persona_id", "rfm_segment", "lifecycle_stage")) {
      ClusterAgreement a = ClusterAgreement.of(joined, column, "persona");
      aris.put(column, a.ari());
      o.printf("  ARI %-16s %.4f  (%d groups)%n", column, a.ari(), a.contingency().size());
      if (column.equals("persona_id")) {
        personas = a;
      }
    }
    json.put("adjusted_rand_index", aris);
    Map<String, String> names = new LinkedHashMap<>();
    for (Row r : segments.select("persona_id", "persona_name").distinct().orderBy("persona_id").collectAsList()) {
      names.put(r.getString(0), r.getString(1));
    }
    printTable(o, personas, names);
    json.put("persona_by_truth", personas.contingency());
    String path = out.writeText(OutputWriter.RUNS, "evaluation.json", RunSummary.toJson(json));
    o.printf("  written to %s%n", path);
    o.flush();
    if (personas.ari() < minAri) {
      throw new DataQualityException("--min-ari", String.format(
          "ARI of persona_id against %s is %.4f, below --min-ari %.4f", truth, personas.ari(), minAri));
    }
    return PersonasCli.EXIT_OK;
  }

  private static void printTable(PrintWriter o, ClusterAgreement a, Map<String, String> names) {
    TreeSet<String> kinds = new TreeSet<>();
    a.contingency().values().forEach(m -> kinds.addAll(m.keySet()));
    o.printf("  %-40s", "persona \\ truth");
    for (String k : kinds) {
      o.printf(" %10s", k.length() > 10 ? k.substring(0, 10) : k);
    }
    o.println();
    a.contingency().forEach((persona, row) -> {
      String label = persona + " " + names.getOrDefault(persona, "");
      o.printf("  %-40s", label.length() > 40 ? label.substring(0, 40) : label);
      for (String k : kinds) {
        o.printf(" %,10d", row.getOrDefault(k, 0L));
      }
      o.println();
    });
  }
}
