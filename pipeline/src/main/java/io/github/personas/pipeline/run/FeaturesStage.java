package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.engine.Fold;
import io.github.personas.pipeline.features.FeatureBuilder;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.validate.ValidationResult;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** Stage 2: the features table, one row per user, from the validated events and profiles. */
public final class FeaturesStage {

  /**
   * The features built: the stage's result.
   *
   * @param features the features table (cached for the run)
   * @param users    its rows
   * @param report   what the stage did; a failed gate (too few users) stops the run
   * @param backtest the features as of D - H of the users seen by then, for the propensity
   *                 models (not written); null when they are off
   */
  public record Result(Dataset<Row> features, long users, StageReport report, Backtest backtest) {}

  /**
   * The features as of an earlier date, from the same pass and code.
   *
   * @param date     D - H
   * @param features one row per user seen by the end of {@code date}, as they were then
   */
  public record Backtest(java.time.LocalDate date, Dataset<Row> features) {}

  private final RunContext ctx;
  private final FeatureBuilder builder;
  /** The builder as of D - H when the propensity models need it, else null. */
  private final FeatureBuilder earlier;

  /** The stage, with the features as of D - H when the propensity models are on. */
  public FeaturesStage(RunContext ctx) {
    this(ctx, true);
  }

  /**
   * @param backtest false: no features as of D - H even with the propensity models on (a run
   *                 without PREDICT would fold and cache them for nothing)
   */
  public FeaturesStage(RunContext ctx, boolean backtest) {
    this.ctx = ctx;
    this.builder = new FeatureBuilder(ctx.date(), ctx.config().timezone(), ctx.config().sessionWindows());
    PersonasConfig.Predict predict = ctx.config().predict();
    this.earlier = !backtest || !predict.propensityEnabled() ? null : new FeatureBuilder(
        ctx.date().minusDays(predict.propensity().horizonDays()), ctx.config().timezone(),
        ctx.config().sessionWindows());
  }

  /**
   * The per-user fold of events that the validation runs in its own pass: with the propensity
   * models on, the fold as of D - H rides along in the same pass.
   */
  public Fold<?> fold() {
    return earlier == null ? builder.fold(ctx.spark()) : builder.foldWithEarlier(ctx.spark(), earlier);
  }

  /** A features table without rows: its columns, for checking rules before anything is read. */
  public Dataset<Row> empty() {
    return builder.empty(ctx.spark());
  }

  /** Builds, writes and counts the features. */
  public Result run(ValidateStage.Result validated, Caches caches) {
    try (StageLog log = StageLog.start(Stage.FEATURES, ctx)) {
      ValidationResult events = validated.events();
      Dataset<Row> profiles = validated.profiles().accepted();
      // Both dates' features derive from the one pass's rows: cached, or the backtest would fold the events again.
      Dataset<Row> folded = !events.byUser() ? null
          : earlier == null ? events.folded() : caches.persist(events.folded());
      Dataset<Row> features = caches.persist(events.byUser()
          ? builder.fromFolded(folded, profiles, caches)
          : builder.apply(events.accepted(), profiles, caches));
      long users = features.count();
      log.write(OutputWriter.FEATURES, features, users);
      log.gate(List.of(ctx.gates().onUsers(users)));
      Backtest backtest = earlier == null || !events.byUser() ? null
          : new Backtest(ctx.date().minusDays(ctx.config().predict().propensity().horizonDays()),
              earlier.earlierFromFolded(folded, profiles));
      return new Result(features, users, log.finish(), backtest);
    }
  }

  /**
   * The features of D - H published by an earlier run, for a run that did not build this date's
   * features (and so could not fold D - H alongside); null when the propensity models are off or
   * that partition does not exist.
   */
  public Backtest readBackBacktest() {
    if (earlier == null) {
      return null;
    }
    java.time.LocalDate d = ctx.date().minusDays(ctx.config().predict().propensity().horizonDays());
    return ctx.out().has(OutputWriter.FEATURES, d) ? new Backtest(d, ctx.out().read(OutputWriter.FEATURES, d)) : null;
  }

  /** This date's features table from the output, for a run that did not build it. */
  public Dataset<Row> readBack() {
    return ctx.out().read(OutputWriter.FEATURES);
  }
}
