package io.github.personas.pipeline.run;

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
   */
  public record Result(Dataset<Row> features, long users, StageReport report) {}

  private final RunContext ctx;
  private final FeatureBuilder builder;

  public FeaturesStage(RunContext ctx) {
    this.ctx = ctx;
    this.builder = new FeatureBuilder(ctx.date(), ctx.config().timezone(), ctx.config().sessionWindows());
  }

  /** The per-user fold of events that the validation runs in its own pass. */
  public Fold<?> fold() {
    return builder.fold(ctx.spark());
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
      Dataset<Row> features = caches.persist(events.byUser()
          ? builder.fromFolded(events.folded(), profiles, caches)
          : builder.apply(events.accepted(), profiles, caches));
      long users = features.count();
      log.write(OutputWriter.FEATURES, features, users);
      log.gate(List.of(ctx.gates().onUsers(users)));
      return new Result(features, users, log.finish());
    }
  }

  /** This date's features table from the output, for a run that did not build it. */
  public Dataset<Row> readBack() {
    return ctx.out().read(OutputWriter.FEATURES);
  }
}
