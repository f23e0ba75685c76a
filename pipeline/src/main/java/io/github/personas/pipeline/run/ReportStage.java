package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.report.Kpi;
import io.github.personas.pipeline.report.ReportData;
import io.github.personas.pipeline.report.RunReport;
import io.github.personas.pipeline.report.ScoreMeans;
import io.github.personas.pipeline.report.SegmentKpis;
import io.github.personas.pipeline.report.SegmentTransitions;
import io.github.personas.pipeline.segment.PersonaClusterer;
import io.github.personas.pipeline.segment.RfmScorer;
import io.github.personas.pipeline.validate.SourceCounts;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Stage 4: KPIs per segment with their significance, holdout uplift, transitions since the
 * previous run, the history of every run, and the report a person reads (Markdown and HTML).
 */
public final class ReportStage {

  private static final org.apache.logging.log4j.Logger LOG =
      org.apache.logging.log4j.LogManager.getLogger(ReportStage.class);

  /**
   * Columns of the predictions table that can be report dimensions. A run without them (the
   * PREDICT stage off, or predictions from before they existed) leaves them out of the report
   * instead of failing on them: value_tier and churn_risk_band are in the default dimensions.
   */
  public static final List<String> PREDICTED_DIMENSIONS = List.of("value_tier", "churn_risk_band", "propensity_decile");

  private static final String PREDICTED_USER = "predicted_user_id";
  private static final List<String> METRIC_COLUMNS = List.of(PredictStage.METRICS_SCHEMA.fieldNames());

  /**
   * What the report reads.
   *
   * @param users        one row per user: the segment columns and every feature
   * @param personas     the personas table's rows
   * @param kSelection   the k_selection table's rows
   * @param predictions  one row per user: the predictions table, joined to {@code users} by user_id;
   *                     null when there are none (the PREDICT stage off or not run for the date)
   * @param modelMetrics the model_metrics table's rows; empty when there are none
   * @param fromOutput   true when {@code users} is a join of tables read back, worth caching for
   *                     the report's several reads; the segment stage's rows come from its cache
   */
  public record Input(Dataset<Row> users, List<Row> personas, List<Row> kSelection, Dataset<Row> predictions,
                      List<Row> modelMetrics, boolean fromOutput) {

    public Input {
      modelMetrics = modelMetrics == null ? List.of() : List.copyOf(modelMetrics);
    }

    /** The segment stage's result. */
    public static Input of(SegmentStage.Result segmented) {
      return new Input(segmented.users(), segmented.personas(), segmented.kSelection(), null, List.of(), false);
    }

    /**
     * This date's segments, features, personas and k_selection from the output, for a run that did
     * not segment; its predictions and model_metrics too where the date has them.
     */
    public static Input readBack(RunContext ctx) {
      OutputWriter out = ctx.out();
      return new Input(joined(out.read(OutputWriter.SEGMENTS), out.read(OutputWriter.FEATURES)),
          out.read(OutputWriter.PERSONAS).collectAsList(), out.read(OutputWriter.K_SELECTION).collectAsList(),
          out.has(OutputWriter.PREDICTIONS) ? out.read(OutputWriter.PREDICTIONS) : null,
          out.has(OutputWriter.MODEL_METRICS) ? out.read(OutputWriter.MODEL_METRICS).collectAsList() : List.of(), true);
    }

    /**
     * With this run's predictions, in place of any read back: a run whose PREDICT stage was off has
     * none, whatever an earlier run of the date published. Unchanged when PREDICT did not run.
     */
    public Input with(PredictStage.Result predicted) {
      if (predicted == null) {
        return this;
      }
      return new Input(users, personas, kSelection, predicted.predictions(), predicted.modelMetrics(), fromOutput);
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
      ScoreMeans.Columns scores = input.predictions() == null ? ScoreMeans.Columns.NONE
          : ScoreMeans.Columns.of(List.of(input.predictions().columns()), ctx.config().predict().horizonsDays());
      Dataset<Row> joined = withPredictions(input.users(), input.predictions(), rc.dimensions(), scores.present());
      // The segment stage's rows are read from its cache of every feature; caching those wide rows
      // again cost 5 s at 500k users. A join (of tables read back, or with the predictions) is
      // worth caching: the KPIs, the transitions and the scores' means each read it.
      Dataset<Row> users = input.fromOutput() || joined != input.users() ? caches.persist(joined) : joined;
      List<String> dimensions = informative(users, dimensions(rc.dimensions(), List.of(users.columns())), log);
      SegmentKpis.Result r = new SegmentKpis(dimensions, Kpi.defaults(rc.dormantStages()), rc.significanceLevel(),
          rc.minEffect())
          .apply(users);
      log.write(OutputWriter.SEGMENT_KPIS, r.kpis(), r.kpis().count());
      log.write(OutputWriter.HOLDOUT_UPLIFT, r.holdoutUplift(), r.holdoutUplift().count());

      Optional<LocalDate> prev = ctx.out().previousDate(OutputWriter.SEGMENTS);
      Dataset<Row> previous = prev.isPresent() ? previousUsers(prev.get(), dimensions, log) : null;
      // A predicted dimension the previous run did not have (its PREDICT stage off) has no
      // transitions; the other dimensions still have theirs.
      List<String> moved = previous == null ? dimensions
          : dimensions.stream().filter(List.of(previous.columns())::contains).toList();
      if (moved.isEmpty()) {
        log.warn("The run of " + prev.get() + " has none of the dimensions " + dimensions
            + " (no predictions): the transitions count every user as new");
        previous = null;
        moved = dimensions;
      }
      Dataset<Row> transitions = caches.persist(new SegmentTransitions(moved).apply(users, previous,
          previous == null ? null : prev.get().toString()));
      log.write(OutputWriter.SEGMENT_TRANSITIONS, transitions, transitions.count());
      Dataset<Row> history = caches.persist(history(r.kpis()));
      log.write(OutputWriter.SEGMENT_HISTORY, history, history.count());

      ReportData.Predicted predicted = predicted(users, scores, input.modelMetrics());
      RunReport report = new RunReport(reportData(r, input, transitions, history, validated, predicted));
      log.file("report.md", ctx.out().writeText(OutputWriter.RUNS, "report.md", report.markdown()));
      log.file("report.html", ctx.out().writeText(OutputWriter.RUNS, "report.html", report.html()));
      return new Result(r.population(), log.finish());
    }
  }

  /**
   * The configured dimensions this run can report on: a predicted dimension that {@code columns}
   * lack is left out (the PREDICT stage off); any other missing column fails in {@link SegmentKpis}.
   */
  static List<String> dimensions(List<String> configured, List<String> columns) {
    List<String> dims = configured.stream()
        .filter(d -> columns.contains(d) || !PREDICTED_DIMENSIONS.contains(d)).toList();
    if (dims.isEmpty()) {
      throw new ConfigException(String.format("personas.report.dimensions lists only predicted dimensions %s, and"
          + " this run has no predictions with them (personas.predict.enabled): add a column of the segments or"
          + " features", configured));
    }
    return dims;
  }

  /**
   * {@code dimensions} without the predicted ones that have one value for every user (all
   * "Unknown" when the propensity models were off or could not be trained): a segment of 100 %
   * tells nothing and would clutter every table.
   */
  private static List<String> informative(Dataset<Row> users, List<String> dimensions, StageLog log) {
    List<String> predicted = dimensions.stream().filter(PREDICTED_DIMENSIONS::contains).toList();
    if (predicted.isEmpty()) {
      return dimensions;
    }
    Row distinct = users.agg(functions.countDistinct(functions.col(predicted.get(0))), predicted.stream().skip(1)
        .map(d -> functions.countDistinct(functions.col(d))).toArray(org.apache.spark.sql.Column[]::new)).first();
    List<String> flat = new ArrayList<>();
    for (int i = 0; i < predicted.size(); i++) {
      if (distinct.getLong(i) <= 1) {
        flat.add(predicted.get(i));
      }
    }
    if (flat.isEmpty()) {
      return dimensions;
    }
    LOG.info("Report: {} left out of the dimensions: one value for every user (no model behind them)", flat);
    List<String> kept = dimensions.stream().filter(d -> !flat.contains(d)).toList();
    return kept.isEmpty() ? dimensions : kept;
  }

  /**
   * {@code users} with the columns of {@code predictions} the report reads (the predicted
   * dimensions among {@code dimensions}, and {@code scores}), by user_id; {@code users} itself
   * when there is nothing to add. A user without a prediction row gets nulls.
   */
  static Dataset<Row> withPredictions(Dataset<Row> users, Dataset<Row> predictions, List<String> dimensions,
                                      List<String> scores) {
    if (predictions == null) {
      return users;
    }
    List<String> have = List.of(users.columns());
    List<String> cols = new ArrayList<>();
    for (String c : predictions.columns()) {
      boolean wanted = PREDICTED_DIMENSIONS.contains(c) && dimensions.contains(c) || scores.contains(c);
      if (wanted && !have.contains(c)) {
        cols.add(c);
      }
    }
    if (cols.isEmpty()) {
      return users;
    }
    // The predictions of this run descend from the same features as the users: without a new
    // name their user_id is the users' own column to Spark, and the join condition trivially true.
    Dataset<Row> p = predictions.select(Stream.concat(Stream.of(predictions.col("user_id").as(PREDICTED_USER)),
        cols.stream().map(predictions::col)).toArray(org.apache.spark.sql.Column[]::new));
    return users.join(p, users.col("user_id").equalTo(p.col(PREDICTED_USER)), "left_outer").drop(PREDICTED_USER);
  }

  /**
   * The previous run's users with this run's dimensions (and its predicted ones where it has its
   * predictions), or null (and a warning) when it cannot be read or lacks a dimension that is not
   * a predicted one.
   */
  private Dataset<Row> previousUsers(LocalDate prev, List<String> dimensions, StageLog log) {
    try {
      Dataset<Row> previous = joined(ctx.out().read(OutputWriter.SEGMENTS, prev), ctx.out().read(OutputWriter.FEATURES, prev));
      if (ctx.out().has(OutputWriter.PREDICTIONS, prev)) {
        previous = withPredictions(previous, ctx.out().read(OutputWriter.PREDICTIONS, prev), dimensions, List.of());
      }
      List<String> columns = List.of(previous.columns());
      List<String> missing = dimensions.stream()
          .filter(d -> !columns.contains(d) && !PREDICTED_DIMENSIONS.contains(d)).toList();
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

  /** Every segment's mean P(alive) at least this: it tells no segment from another, and is not shown. */
  static final double FLAT_P_ALIVE = 0.99;

  /** Mean scores per persona and RFM segment, and the models' checks, for the report's cards and charts. */
  static ReportData.Predicted predicted(Dataset<Row> users, ScoreMeans.Columns scores, List<Row> metrics) {
    List<String> columns = List.of(users.columns());
    List<String> dims = Stream.of(PersonaClusterer.PERSONA_ID, RfmScorer.RFM_SEGMENT).filter(columns::contains).toList();
    List<ReportData.SegmentScores> means = ScoreMeans.apply(users, dims, scores);
    // A purchase model that sees (almost) nobody drop out gives every buyer a P(alive) near 1: a
    // card saying "P(alive) 1.00" of uninstalled or lapsed users would be read as a fact.
    boolean withheld = means.stream().anyMatch(m -> m.pAlive() != null)
        && means.stream().allMatch(m -> m.pAlive() == null || m.pAlive() >= FLAT_P_ALIVE);
    if (withheld) {
      means = means.stream().map(ReportData.SegmentScores::withoutPAlive).toList();
    }
    if (means.stream().noneMatch(ReportData.SegmentScores::any)) {
      // No user has a score (nobody bought, or the fit failed, as the stage's warning says): the
      // cards would only say so one by one.
      means = List.of();
    }
    List<ReportData.ModelMetric> checks = new ArrayList<>();
    for (Row m : metrics) {
      // Rows read back have a schema; rows built in memory may not, and then are in the table's order.
      Object[] v = new Object[METRIC_COLUMNS.size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = m.schema() == null ? m.get(i) : m.getAs(METRIC_COLUMNS.get(i));
      }
      if (v[4] != null) {
        checks.add(new ReportData.ModelMetric((String) v[0], ((Number) v[1]).intValue(), (String) v[2],
            v[3] == null ? null : ((Number) v[3]).intValue(), ((Number) v[4]).doubleValue()));
      }
    }
    if (means.isEmpty() && checks.isEmpty()) {
      return ReportData.Predicted.NONE;
    }
    return new ReportData.Predicted(scores.clvDays(), scores.propensityDays(), means, checks, withheld);
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
                                ValidateStage.Result validated, ReportData.Predicted predicted) {
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
    // The charts of moves and sizes over runs name personas as the cards do: an id alone means
    // nothing to a reader, and a persona of an earlier run only has the name it had then.
    Map<String, String> names = personaNames(personas);
    List<ReportData.Transition> moves = new ArrayList<>();
    for (Row t : transitions.where("dimension = 'persona_id' AND previous_date IS NOT NULL").collectAsList()) {
      moves.add(new ReportData.Transition(label(t.getAs("from_segment"), names), label(t.getAs("to_segment"), names),
          t.<Long>getAs("users")));
    }
    List<ReportData.HistoryPoint> trend = new ArrayList<>();
    for (Row h : history.where("dimension = 'persona_id'").orderBy("run_date", "segment").collectAsList()) {
      trend.add(new ReportData.HistoryPoint(h.getAs("run_date"), label(h.getAs("segment"), names),
          h.<Long>getAs("users")));
    }
    List<ReportData.QualityRow> quality = new ArrayList<>();
    if (validated != null) {
      quality(quality, "events", validated.events().counts());
      quality(quality, "profiles", validated.profiles().counts());
    }
    PersonasConfig.Report rc = ctx.config().report();
    return new ReportData(ctx.date().toString(), NightlyRun.version(), r.population(), segments, cards, curve, reason,
        moves, trend, quality, predicted, new ReportData.Significance(rc.significanceLevel(), rc.minEffect(), r.tests()));
  }

  /** Persona names by id: tonight's, else the latest an earlier run of this output gave the id. */
  private Map<String, String> personaNames(List<Row> tonight) {
    Map<String, String> names = new HashMap<>();
    if (ctx.out().previousDate(OutputWriter.PERSONAS).isPresent()) {
      Dataset<Row> earlier = ctx.out().readBefore(OutputWriter.PERSONAS);
      // The first versions' personas tables had ids only.
      if (List.of(earlier.columns()).contains("persona_name")) {
        for (Row r : earlier.select("dt", "persona_id", "persona_name").orderBy("dt").collectAsList()) {
          putNamed(names, r.getAs("persona_id"), r.getAs("persona_name"));
        }
      }
    }
    for (Row p : tonight) {
      putNamed(names, p.getAs("persona_id"), p.getAs("persona_name"));
    }
    return names;
  }

  /** A later name replaces an earlier one; a missing one keeps it. */
  private static void putNamed(Map<String, String> names, String id, String name) {
    if (id != null && name != null && !name.isEmpty()) {
      names.put(id, name);
    }
  }

  /** "P03 Late-night snackers": the id keeps a persona recognisable when its name changes. */
  static String label(String id, Map<String, String> names) {
    String name = id == null ? null : names.get(id);
    return name == null || name.isEmpty() ? id : id + " " + name;
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
