package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.io.RunLock;
import java.time.LocalDate;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * One nightly run for one date: the asked-for stages in order, each a class with its inputs and
 * an immutable result, composed here.
 *
 * <p>Features need the validation in the same run (accepted events are not stored); segment and
 * report read what an earlier stage did not compute in this run back from the output folder, so
 * they can also run one at a time. A data-quality gate that fails stops the run after its stage.
 * The run owns everything cached ({@link Caches}) and releases it when it ends, and holds the
 * lock on its output date ({@link RunLock}) from before staging until after publishing and the
 * tables' registration in a catalog ({@link CatalogStage}), which only a publish that succeeded gets.
 */
public final class NightlyRun {

  private final SparkSession spark;
  private final PersonasConfig config;
  private final LocalDate date;

  /**
   * @param spark  the session (local or cluster; its configuration is left as given)
   * @param config validated configuration
   * @param date   the run date D: events up to the end of D, UTC
   */
  public NightlyRun(SparkSession spark, PersonasConfig config, LocalDate date) {
    this.spark = Objects.requireNonNull(spark, "spark");
    this.config = Objects.requireNonNull(config, "config");
    this.date = Objects.requireNonNull(date, "date");
  }

  /** The personas version from the jar manifest, or "dev" when run from classes. */
  public static String version() {
    String v = NightlyRun.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  /**
   * Runs {@code stages} in order and writes the summary.
   *
   * @return the summary, also written to {@code runs/dt=<date>/summary.json}
   * @throws DataQualityException when a gate fails (the summary and the quarantine are published first)
   * @throws ConfigException on input or rule errors, naming the configuration file
   */
  public RunSummary execute(Set<Stage> stages) {
    if (stages.isEmpty()) {
      throw new IllegalArgumentException("No stage to run");
    }
    if (stages.contains(Stage.FEATURES) && !stages.contains(Stage.VALIDATE)) {
      throw new IllegalArgumentException("FEATURES needs VALIDATE in the same run: accepted events are not stored");
    }
    if (stages.equals(EnumSet.of(Stage.PREDICT)) && !config.predict().enabled()) {
      // It would write nothing and still withdraw the date's segments and report, built after it.
      throw new ConfigException("personas.predict.enabled is false: a run of the predict stage alone has nothing to"
          + " do (set it to true, or run the other stages)");
    }
    try {
      return run(EnumSet.copyOf(stages));
    } catch (ConfigException e) {
      throw e.in(config.origin());
    }
  }

  private RunSummary run(EnumSet<Stage> todo) {
    RunContext opened = RunContext.open(spark, config, date);
    if (todo.contains(Stage.SEGMENT)) {
      // Against the predictions' columns as this run will have them: computed now, or as published.
      Dataset<Row> empty = new FeaturesStage(opened).empty();
      new SegmentStage(opened).checkRules(todo.contains(Stage.PREDICT)
          ? new PredictStage(opened).withEmptyPredictions(empty) : PredictStage.withPublished(opened, empty, false));
    }
    if (todo.contains(Stage.PREDICT)) {
      new PredictStage(opened).checkColumns(new FeaturesStage(opened).empty());
    }
    new CatalogStage(opened).check();
    // One run per output and date: a second one waits for this one's end instead of deleting its staging.
    try (RunLock lock = opened.out().lock()) {
      RunContext ctx = lock.tookOver().map(gone -> opened.withWarning("took over the lock of " + gone.describe()
          + ", which is no longer running; its staging was removed")).orElse(opened);
      ctx.out().beginStaging(lock);
      return stages(ctx, todo);
    }
  }

  private RunSummary stages(RunContext ctx, EnumSet<Stage> todo) {
    // Made first: the validation runs the features' fold in its own pass over the events.
    FeaturesStage features = new FeaturesStage(ctx, todo.contains(Stage.PREDICT));
    SegmentStage segment = new SegmentStage(ctx);
    PublishStage publish = new PublishStage(ctx, todo);
    try (Caches caches = new Caches()) {
      ValidateStage.Result validated = !todo.contains(Stage.VALIDATE) ? null
          : new ValidateStage(ctx, caches).run(todo.contains(Stage.FEATURES) ? features.fold() : null);
      stopIfFailed(publish, new PublishStage.Results(validated, null, null, null, null));
      FeaturesStage.Result featured = !todo.contains(Stage.FEATURES) ? null : features.run(validated, caches);
      stopIfFailed(publish, new PublishStage.Results(validated, featured, null, null, null));
      PredictStage.Result predicted = !todo.contains(Stage.PREDICT) ? null
          : new PredictStage(ctx).run(featured != null ? featured.features() : features.readBack(),
              featured != null ? featured.backtest() : features.readBackBacktest(), caches);
      stopIfFailed(publish, new PublishStage.Results(validated, featured, predicted, null, null));
      // Segments read the predictions beside the features: lifecycle rules may use the scores.
      SegmentStage.Result segmented = !todo.contains(Stage.SEGMENT) ? null
          : segment.run(predicted != null ? predicted.featuresWithPredictions()
              : PredictStage.withPublished(ctx, featured != null ? featured.features() : features.readBack()), caches);
      stopIfFailed(publish, new PublishStage.Results(validated, featured, predicted, segmented, null));
      ReportStage.Result reported = !todo.contains(Stage.REPORT) ? null
          : new ReportStage(ctx).run((segmented != null ? ReportStage.Input.of(segmented)
              : ReportStage.Input.readBack(ctx)).with(predicted), validated, caches);
      PublishStage.Results results = new PublishStage.Results(validated, featured, predicted, segmented, reported);
      stopIfFailed(publish, results);
      RunSummary published = publish.succeeded(results);
      new CatalogStage(ctx).run(published);
      return published;
    } catch (DataQualityException e) {
      // Its evidence (quarantine and summary) is published already; nothing staged is left.
      throw e;
    } catch (RuntimeException | Error e) {
      ctx.out().abandon();
      throw e;
    }
  }

  /** Publishes the evidence and stops the run when a gate of the stages so far failed. */
  private static void stopIfFailed(PublishStage publish, PublishStage.Results results) {
    for (StageReport r : results.reports()) {
      if (r.failedGate().isPresent()) {
        throw publish.stopped(r.failedGate().get(), results);
      }
    }
  }
}
