package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.report.Kpi;
import io.github.personas.pipeline.report.ReportData;
import io.github.personas.pipeline.report.RunReport;
import io.github.personas.pipeline.report.SegmentKpis;
import io.github.personas.pipeline.report.SegmentTransitions;
import io.github.personas.pipeline.validate.SourceCounts;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Stage 4: KPIs per segment with their significance, holdout uplift, transitions since the
 * previous run, the history of every run, and the report a person reads (Markdown and HTML).
 */
public final class ReportStage {

  /**
   * What the report reads.
   *
   * @param users      one row per user: the segment columns and every feature
   * @param personas   the personas table's rows
   * @param kSelection the k_selection table's rows
   * @param fromOutput true when {@code users} is a join of tables read back, worth caching for
   *                   the report's several reads; the segment stage's rows come from its cache
   */
  public record Input(Dataset<Row> users, List<Row> personas, List<Row> kSelection, boolean fromOutput) {

    /** The segment stage's result. */
    public static Input of(SegmentStage.Result segmented) {
      return new Input(segmented.users(), segmented.personas(), segmented.kSelection(), false);
    }

    /** This date's segments, features, personas and k_selection from the output, for a run that did not segment. */
    public static Input readBack(RunContext ctx) {
      OutputWriter out = ctx.out();
      return new Input(joined(out.read(OutputWriter.SEGMENTS), out.read(OutputWriter.FEATURES)),
          out.read(OutputWriter.PERSONAS).collectAsList(), out.read(OutputWriter.K_SELECTION).collectAsList(), true);
    }
  }

  /**
   * The report written: the stage's result.
   *
   * @param kpis   the population's headline KPIs
   * @param report what the stage did
   */
  public record Result(Map<String, Object> kpis, StageReport report) {}

  private final RunContext ctx;

  public ReportStage(RunContext ctx) {
    this.ctx = ctx;
  }

  /** Segments joined to the features they do not have, one row per user. */
  private static Dataset<Row> joined(Dataset<Row> segments, Dataset<Row> features) {
    List<String> cols = new ArrayList<>(List.of("user_id"));
    cols.addAll(SegmentStage.featuresBesides(List.of(segments.columns()), features));
    return segments.join(features.select(cols.stream().map(features::col).toArray(org.apache.spark.sql.Column[]::new)),
        "user_id");
  }

  /**
   * Writes segment_kpis, holdout_uplift, segment_transitions, segment_history and the report.
   *
   * @param validated this run's validation, for the report's data-quality table; null when it did not run
   */
  public Result run(Input input, ValidateStage.Result validated, Caches caches) {
    try (StageLog log = StageLog.start(Stage.REPORT, ctx)) {
      PersonasConfig.Report rc = ctx.config().report();
      // The segment stage's rows are read from its cache of every feature; caching those wide rows
      // again cost 5 s at 500k users. A join of tables read back is worth caching.
      Dataset<Row> users = input.fromOutput() ? caches.persist(input.users()) : input.users();
      SegmentKpis.Result r = new SegmentKpis(rc.dimensions(), Kpi.defaults(rc.dormantStages()), rc.significanceLevel())
          .apply(users);
      log.write(OutputWriter.SEGMENT_KPIS, r.kpis(), r.kpis().count());
      log.write(OutputWriter.HOLDOUT_UPLIFT, r.holdoutUplift(), r.holdoutUplift().count());

      Optional<LocalDate> prev = ctx.out().previousDate(OutputWriter.SEGMENTS);
      Dataset<Row> previous = prev.isPresent() ? previousUsers(prev.get(), rc, log) : null;
      Dataset<Row> transitions = caches.persist(new SegmentTransitions(rc.dimensions()).apply(users, previous,
          previous == null ? null : prev.get().toString()));
      log.write(OutputWriter.SEGMENT_TRANSITIONS, transitions, transitions.count());
      Dataset<Row> history = caches.persist(history(r.kpis()));
      log.write(OutputWriter.SEGMENT_HISTORY, history, history.count());

      RunReport report = new RunReport(reportData(r, input, transitions, history, validated));
      log.file("report.md", ctx.out().writeText(OutputWriter.RUNS, "report.md", report.markdown()));
      log.file("report.html", ctx.out().writeText(OutputWriter.RUNS, "report.html", report.html()));
      return new Result(r.population(), log.finish());
    }
  }

  /** The previous run's users with the report's dimensions, or null (and a warning) when it cannot be read. */
  private Dataset<Row> previousUsers(LocalDate prev, PersonasConfig.Report rc, StageLog log) {
    try {
      Dataset<Row> previous = joined(ctx.out().read(OutputWriter.SEGMENTS, prev), ctx.out().read(OutputWriter.FEATURES, prev));
      List<String> columns = List.of(previous.columns());
      List<String> missing = rc.dimensions().stream().filter(d -> !columns.contains(d)).toList();
      if (!missing.isEmpty()) {
        log.warn("The run of " + prev + " has no column " + missing + ": no transitions from it");
        return null;
      }
      return previous;
    } catch (Exception e) {
      log.warn("Cannot read the previous run " + prev + " for transitions: " + ConfigException.firstLine(e));
      return null;
    }
  }

  /** Size and headline KPIs of every segment on every date so far, for trend charts. */
  private Dataset<Row> history(Dataset<Row> todayKpis) {
    String[] cols = {"dimension", "segment", "users", "share", "conversion_rate", "arpu", "revenue"};
    Dataset<Row> today = todayKpis.withColumn("run_date", functions.lit(ctx.date().toString())).select("run_date", cols);
    if (ctx.out().previousDate(OutputWriter.SEGMENT_KPIS).isEmpty()) {
      return today;
    }
    Dataset<Row> all = ctx.out().readBefore(OutputWriter.SEGMENT_KPIS);
    Dataset<Row> earlier = all.withColumn("run_date", all.col("dt").cast("string")).select("run_date", cols);
    return earlier.unionByName(today).orderBy("run_date", "dimension", "segment");
  }

  /** The small, driver-side view of this run's tables that report.md and report.html show. */
  private ReportData reportData(SegmentKpis.Result r, Input input, Dataset<Row> transitions, Dataset<Row> history,
                                ValidateStage.Result validated) {
    List<ReportData.SegmentRow> segments = new ArrayList<>();
    for (Row k : r.kpis().collectAsList()) {
      segments.add(new ReportData.SegmentRow(k.getAs("dimension"), k.getAs("segment"), k.<Long>getAs("users"),
          k.<Double>getAs("share"), k.getAs("conversion_rate"), k.getAs("conversion_rate_lift"),
          k.<Boolean>getAs("conversion_rate_significant"), k.getAs("arpu"), k.getAs("arpu_lift"),
          k.<Boolean>getAs("arpu_significant"), k.getAs("active_rate_30d")));
    }
    List<ReportData.PersonaCard> cards = new ArrayList<>();
    List<Row> personas = new ArrayList<>(input.personas());
    personas.sort(Comparator.comparing(p -> p.<String>getAs("persona_id")));
    for (Row p : personas) {
      cards.add(new ReportData.PersonaCard(p.getAs("persona_id"), p.getAs("persona_name"), p.getAs("kind"),
          p.<Long>getAs("users"), p.<Double>getAs("share"), p.getAs("rule"), p.<Double>getAs("rule_precision"),
          p.<Double>getAs("rule_recall"), p.<String>getList(p.fieldIndex("traits")), p.getAs("goal"),
          p.getAs("channel"), p.getAs("strategy")));
    }
    List<ReportData.KPoint> curve = new ArrayList<>();
    String reason = "";
    List<Row> ks = new ArrayList<>(input.kSelection());
    ks.sort(Comparator.comparing(k -> k.<Integer>getAs("k")));
    for (Row k : ks) {
      curve.add(new ReportData.KPoint(k.<Integer>getAs("k"), k.<Double>getAs("cost"), k.<Double>getAs("silhouette"),
          k.<Boolean>getAs("chosen")));
      reason = k.getAs("reason");
    }
    List<ReportData.Transition> moves = new ArrayList<>();
    for (Row t : transitions.where("dimension = 'persona_id' AND previous_date IS NOT NULL").collectAsList()) {
      moves.add(new ReportData.Transition(t.getAs("from_segment"), t.getAs("to_segment"), t.<Long>getAs("users")));
    }
    List<ReportData.HistoryPoint> trend = new ArrayList<>();
    for (Row h : history.where("dimension = 'persona_id'").orderBy("run_date", "segment").collectAsList()) {
      trend.add(new ReportData.HistoryPoint(h.getAs("run_date"), h.getAs("segment"), h.<Long>getAs("users")));
    }
    List<ReportData.QualityRow> quality = new ArrayList<>();
    if (validated != null) {
      quality(quality, "events", validated.events().counts());
      quality(quality, "profiles", validated.profiles().counts());
    }
    return new ReportData(ctx.date().toString(), NightlyRun.version(), r.population(), segments, cards, curve, reason,
        moves, trend, quality, ReportData.Predicted.NONE);
  }

  private static void quality(List<ReportData.QualityRow> rows, String source, SourceCounts c) {
    if (c == null || c.read() == 0) {
      return;
    }
    rows.add(new ReportData.QualityRow(source, "read", c.read()));
    rows.add(new ReportData.QualityRow(source, "accepted", c.accepted()));
    c.byReasonSorted().forEach((reasonCode, n) -> rows.add(
        new ReportData.QualityRow(source, "quarantined: " + reasonCode, n)));
    rows.add(new ReportData.QualityRow(source, "duplicates", c.duplicates()));
    rows.add(new ReportData.QualityRow(source, "filtered", c.filtered()));
    rows.add(new ReportData.QualityRow(source, "suppressed", c.suppressed()));
    if (c.laterDays() > 0) {
      rows.add(new ReportData.QualityRow(source, "later days (skipped)", c.laterDays()));
    }
  }
}
