package io.github.personas.pipeline.run;

import io.github.personas.pipeline.io.OutputWriter;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Stream;

/** The stages of a nightly run, in order; a CLI command runs a contiguous subset. */
public enum Stage {
  /** Read inputs, check the contract, write quarantine, apply the data-quality gates. */
  VALIDATE(OutputWriter.QUARANTINE),
  /** Build the features table from validated inputs. */
  FEATURES(OutputWriter.FEATURES),
  /**
   * Purchase and spend models (P(alive), expected purchases, order value and CLV per buyer),
   * purchase propensity and churn risk by backtest, their held-out figures and models. Before the
   * segments: lifecycle rules and personas may read the scores.
   */
  PREDICT(OutputWriter.PREDICTIONS, OutputWriter.MODEL_METRICS, OutputWriter.PREDICTION_MODELS),
  /** RFM scores and segments, k-means personas (over the features and, when PREDICT runs, the predictions). */
  SEGMENT(OutputWriter.SEGMENTS, OutputWriter.PERSONAS, OutputWriter.K_SELECTION, OutputWriter.MODELS),
  /** KPI tables per segment. */
  REPORT(OutputWriter.SEGMENT_KPIS, OutputWriter.HOLDOUT_UPLIFT, OutputWriter.SEGMENT_TRANSITIONS,
      OutputWriter.SEGMENT_HISTORY);

  private final List<String> tables;

  Stage(String... tables) {
    this.tables = List.of(tables);
  }

  /** The tables this stage writes for its date, besides {@code runs/} which every run writes. */
  public List<String> tables() {
    return tables;
  }

  /**
   * The tables whose partition for the date a run of {@code stages} replaces: those of its stages
   * and of every later stage (built on what this run changes, so an earlier run's would no longer
   * match), and {@code runs/}. Earlier stages' tables are this run's inputs and stay.
   */
  public static List<String> replacedBy(EnumSet<Stage> stages) {
    Stage first = stages.iterator().next();
    return Stream.concat(EnumSet.range(first, REPORT).stream().flatMap(s -> s.tables().stream()),
        Stream.of(OutputWriter.RUNS)).toList();
  }

  /** Spark job group id of the stage, shown in the Spark UI. */
  public String jobGroup() {
    return "personas-" + name().toLowerCase(java.util.Locale.ROOT);
  }
}
