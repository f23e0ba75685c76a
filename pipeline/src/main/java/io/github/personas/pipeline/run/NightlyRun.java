package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.engine.Caches;
import java.time.LocalDate;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import org.apache.spark.sql.SparkSession;

/**
 * One nightly run for one date: the asked-for stages in order, each a class with its inputs and
 * an immutable result, composed here.
 *
 * <p>A stage that did not run in this call leaves its output to be read back from the output
 * folder, so {@code features}, {@code segment} and {@code report} can also run one at a time.
 * The run owns everything cached ({@link Caches}) and releases it when it ends.
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
    try {
      return run(EnumSet.copyOf(stages));
    } catch (ConfigException e) {
      throw e.in(config.origin());
    }
  }

  private RunSummary run(EnumSet<Stage> todo) {
    RunContext ctx = RunContext.open(spark, config, date);
    FeaturesStage features = new FeaturesStage(ctx);
    SegmentStage segment = new SegmentStage(ctx);
    PublishStage publish = new PublishStage(ctx, todo);
    if (todo.contains(Stage.SEGMENT)) {
      segment.checkRules(features.empty());
    }
    ctx.out().beginStaging();
    try (Caches caches = new Caches()) {
      // With features to follow, the events are folded by user in the validation's own pass.
      ValidateStage.Result validated = !todo.contains(Stage.VALIDATE) ? null
          : new ValidateStage(ctx, caches).run(todo.contains(Stage.FEATURES) ? features.fold() : null);
      if (validated != null && validated.report().failedGate().isPresent()) {
        throw publish.stopped(validated.report().failedGate().get(),
            new PublishStage.Results(validated, null, null, null));
      }
      FeaturesStage.Result featured = !todo.contains(Stage.FEATURES) ? null
          : features.run(Objects.requireNonNull(validated, "FEATURES needs VALIDATE in the same run"), caches);
      if (featured != null && featured.report().failedGate().isPresent()) {
        throw publish.stopped(featured.report().failedGate().get(),
            new PublishStage.Results(validated, featured, null, null));
      }
      SegmentStage.Result segmented = !todo.contains(Stage.SEGMENT) ? null
          : segment.run(featured != null ? featured.features() : features.readBack(), caches);
      ReportStage.Result reported = !todo.contains(Stage.REPORT) ? null
          : new ReportStage(ctx).run(segmented != null ? ReportStage.Input.of(segmented)
              : ReportStage.Input.readBack(ctx), validated, caches);
      return publish.succeeded(new PublishStage.Results(validated, featured, segmented, reported));
    } catch (DataQualityException e) {
      throw e;
    } catch (RuntimeException | Error e) {
      ctx.out().abandon();
      throw e;
    }
  }
}
