package io.github.personas.jobs;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.evaluate.PredictionCheck;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.run.DataQualityException;
import io.github.personas.pipeline.run.RunSummary;
import java.io.PrintWriter;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Measures a date's predictions against what its users did afterwards, from a later date's features. */
@Command(name = "check-predictions", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Measures the predictions of --date against what happened next: each user's purchases and activity",
        "in (--date, --outcomes-date], read from the features table of --outcomes-date (run `personas",
        "features` for that date first). For every score column: AUC-ROC (0.5 is chance, 1 a perfect",
        "ranking), AUC-PR, the base rate and the lift of the top-scored tenth. Buying scores",
        "(purchase_propensity, expected_purchases, p_alive, clv) are measured against a purchase in the",
        "period, churn_risk against no activity in it. Writes <output>/runs/dt=<date>/prediction_check.json."},
    footer = {"", "Example (CDNOW, the six months after 1997, docs/predict.md):",
        "  personas run --config conf/examples/cdnow-propensity.conf --date 1997-12-31 --output /tmp/c",
        "  personas features --config conf/examples/cdnow-propensity.conf --date 1998-06-30 --output /tmp/c",
        "  personas check-predictions --config conf/examples/cdnow-propensity.conf --date 1997-12-31 \\",
        "    --outcomes-date 1998-06-30 --output /tmp/c --min-auc purchase_propensity_181d=0.8"})
final class CheckPredictionsCommand implements Callable<Integer> {

  @ParentCommand
  PersonasCli parent;

  @Option(names = "--date", required = true, paramLabel = "YYYY-MM-DD", converter = Converters.DateConverter.class,
      description = "The date whose predictions to measure.")
  LocalDate date;

  @Option(names = "--outcomes-date", required = true, paramLabel = "YYYY-MM-DD",
      converter = Converters.DateConverter.class,
      description = "The end of the period the predictions are measured on; its features table must exist.")
  LocalDate outcomesDate;

  @Mixin
  CommonOptions common;

  @Option(names = "--min-auc", paramLabel = "SCORE=X",
      description = "Exit with code 3 when the AUC-ROC of SCORE is below X (repeatable).")
  Map<String, Double> minAuc = new LinkedHashMap<>();

  @Override
  public Integer call() {
    PersonasConfig config = common.load();
    if (!outcomesDate.isAfter(date)) {
      throw ConfigException.of("--outcomes-date %s must be after --date %s", outcomesDate, date);
    }
    SparkSession spark = SparkSessions.create("personas check-predictions " + date, common.master);
    OutputWriter out = new OutputWriter(spark, config.outputPath(), date, config.filesPerPartition(),
        config.rowsPerFile());
    Dataset<Row> predictions = read(out, OutputWriter.PREDICTIONS, date, "personas run");
    Dataset<Row> later = read(out, OutputWriter.FEATURES, outcomesDate, "personas features");
    List<PredictionCheck.ScoreCheck> checks = PredictionCheck.check(predictions, date, later, outcomesDate);
    for (String score : minAuc.keySet()) {
      if (checks.stream().noneMatch(c -> c.score().equals(score))) {
        throw ConfigException.of("--min-auc names %s, which is not a score of the predictions of %s; scores: %s",
            score, date, checks.stream().map(PredictionCheck.ScoreCheck::score).toList());
      }
    }
    PrintWriter o = parent.out();
    o.printf("personas check-predictions: the predictions of %s against (%s, %s]%n", date, date, outcomesDate);
    o.printf("  %-28s %-9s %10s %9s %8s %8s %9s%n", "score", "outcome", "users", "base rate", "AUC-ROC", "AUC-PR",
        "top lift");
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("run_date", date.toString());
    json.put("outcomes_date", outcomesDate.toString());
    Map<String, Object> scores = new LinkedHashMap<>();
    for (PredictionCheck.ScoreCheck c : checks) {
      var f = c.figures();
      o.printf("  %-28s %-9s %,10d %9.3f %8.4f %8.4f %9.2f%n", c.score(), c.outcome(), f.users(), f.baseRate(),
          f.aucRoc(), f.aucPr(), f.topDecileLift());
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("outcome", c.outcome());
      m.put("users", f.users());
      m.putAll(f.headline());
      scores.put(c.score(), m);
    }
    json.put("scores", scores);
    String path = out.writeText(OutputWriter.RUNS, "prediction_check.json", RunSummary.toJson(json));
    o.printf("  written to %s%n", path);
    o.flush();
    for (PredictionCheck.ScoreCheck c : checks) {
      Double min = minAuc.get(c.score());
      if (min != null && c.figures().aucRoc() < min) {
        throw new DataQualityException("--min-auc", String.format("AUC-ROC of %s is %.4f, below --min-auc %.4f",
            c.score(), c.figures().aucRoc(), min));
      }
    }
    return PersonasCli.EXIT_OK;
  }

  private static Dataset<Row> read(OutputWriter out, String table, LocalDate d, String command) {
    if (!out.has(table, d)) {
      throw ConfigException.of("No %s for %s under the output: run `%s --date %s` first", table, d, command, d);
    }
    return out.read(table, d);
  }
}
