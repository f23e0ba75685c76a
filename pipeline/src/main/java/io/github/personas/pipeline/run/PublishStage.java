package io.github.personas.pipeline.run;

import io.github.personas.pipeline.io.OutputWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The last step of every run: the summary from the stages' results, written beside the tables,
 * then every table published at once; or, when a gate stopped the run, only the evidence.
 */
public final class PublishStage {

  private static final Logger LOG = LogManager.getLogger(PublishStage.class);

  /**
   * What the stages of a run returned; null for a stage that did not run (or not yet).
   *
   * @param validated  the validation
   * @param featured   the features
   * @param predicted  the purchase and spend models
   * @param segmented  the segmentation
   * @param reported   the report
   */
  public record Results(ValidateStage.Result validated, FeaturesStage.Result featured, PredictStage.Result predicted,
                        SegmentStage.Result segmented, ReportStage.Result reported) {

    /** The reports of the stages that ran, in order. */
    List<StageReport> reports() {
      return Stream.of(validated == null ? null : validated.report(), featured == null ? null : featured.report(),
          predicted == null ? null : predicted.report(), segmented == null ? null : segmented.report(),
          reported == null ? null : reported.report())
          .filter(java.util.Objects::nonNull).toList();
    }
  }

  private final RunContext ctx;
  private final Set<Stage> stages;

  /** @param stages the stages the run was asked for */
  public PublishStage(RunContext ctx, Set<Stage> stages) {
    this.ctx = ctx;
    this.stages = Set.copyOf(stages);
  }

  /** Writes the summary and publishes every table of the run. */
  public RunSummary succeeded(Results results) {
    RunSummary summary = summary("succeeded", results, null);
    ctx.out().publish(null, Stage.replacedBy(java.util.EnumSet.copyOf(stages)));
    return summary;
  }

  /**
   * Writes the summary of a run a gate stopped and publishes only the evidence: the quarantined
   * rows and the summary naming the gate. The date's tables an earlier run published for this
   * run's stages are withdrawn: the date holds this run's evidence alone, never a mix.
   *
   * @return the exception the run ends with
   */
  public DataQualityException stopped(QualityGates.Result failed, Results results) {
    String where = failed.gate().equals(QualityGates.MIN_USERS) ? ""
        : "; quarantined rows are in " + ctx.out().partition(OutputWriter.QUARANTINE);
    String message = failed.message() + where;
    summary("failed_quality_gate", results, message);
    ctx.out().publish(List.of(OutputWriter.QUARANTINE, OutputWriter.RUNS),
        Stage.replacedBy(java.util.EnumSet.copyOf(stages)));
    return new DataQualityException(failed.gate(), message);
  }

  private RunSummary summary(String status, Results r, String failure) {
    Map<String, String> inputs = new LinkedHashMap<>();
    inputs.put("events", ctx.config().events().path());
    inputs.put("profiles", ctx.config().profiles().isPresent() ? ctx.config().profiles().path() : "");
    List<StageReport> reports = r.reports();
    List<String> warnings = new ArrayList<>(ctx.warnings());
    reports.forEach(s -> warnings.addAll(s.warnings()));
    if (failure != null) {
      warnings.add(failure);
    }
    RunSummary summary = new RunSummary(NightlyRun.version(), ctx.date().toString(),
        java.util.EnumSet.copyOf(stages).stream().map(Enum::name).toList(), status, ctx.config().origin(),
        ctx.config().hash(), inputs,
        r.validated() == null ? null : r.validated().events().counts(),
        r.validated() == null ? null : r.validated().profiles().counts(),
        r.validated() == null ? null : r.validated().suppression(),
        reports, ctx.sparkFacts(),
        r.validated() == null ? null : r.validated().quarantineShare(),
        r.segmented() == null ? null : r.segmented().rfmCutPoints(),
        r.segmented() == null ? null : r.segmented().facts(),
        r.predicted() == null ? null : r.predicted().details(),
        r.reported() == null ? null : r.reported().kpis(),
        warnings);
    String path = ctx.out().writeText(OutputWriter.RUNS, "summary.json", summary.toJson());
    LOG.info("Run summary: {}", path);
    return summary;
  }
}
