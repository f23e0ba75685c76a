package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.report.ReportData;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class ReportStageTest extends StageTestBase {

  /** The predictions table with every column issue 20 gives it, default horizons. */
  static final StructType PREDICTIONS = StructType.fromDDL("user_id string, p_alive double,"
      + " expected_purchases_30d double, expected_purchases_90d double, expected_purchases_365d double,"
      + " expected_order_value double, clv_30d double, clv_90d double, clv_365d double,"
      + " purchase_propensity_30d double, churn_risk_30d double, value_tier string, propensity_decile int,"
      + " churn_risk_band string");
  static final StructType MODEL_METRICS = StructType.fromDDL(
      "score string, horizon_days int, metric string, decile int, value double");
  private static final List<String> TIERS = List.of("Top 10%", "Next 20%", "Middle 30%", "Bottom 40%");
  private static final List<String> BANDS = List.of("High", "Medium", "Low");

  /**
   * Inline predictions of every user of {@code users}, in user_id order: buyers get scores and a
   * tier by their position; users who never bought a propensity only, "No purchase yet" and "Unknown".
   */
  static List<Row> predictionRows(Dataset<Row> users) {
    List<Row> rows = new ArrayList<>();
    int i = 0;
    for (Row u : users.select("user_id", "is_buyer").orderBy("user_id").collectAsList()) {
      i++;
      boolean buyer = u.getBoolean(1);
      double propensity = buyer ? (i % 9 + 1) / 10.0 : 0.02;
      Double pAlive = buyer ? (i % 10 + 0.5) / 10 : null;
      Double clv = buyer ? 10.0 * (i % 13) : null;
      rows.add(RowFactory.create(u.getString(0), pAlive, buyer ? 0.1 : null, buyer ? 0.3 : null, buyer ? 1.2 : null,
          buyer ? 25.0 : null, clv == null ? null : clv / 12, clv == null ? null : clv / 4, clv, propensity,
          1 - propensity, buyer ? TIERS.get(i % 4) : "No purchase yet", buyer ? i % 10 + 1 : 10,
          buyer ? BANDS.get(i % 3) : "Unknown"));
    }
    return rows;
  }

  /** model_metrics of one score: the scalars and ten deciles. */
  static List<Row> metricRows() {
    List<Row> rows = new ArrayList<>(List.of(RowFactory.create("purchase_propensity_30d", 30, "auc_roc", null, 0.74),
        RowFactory.create("purchase_propensity_30d", 30, "auc_pr", null, 0.33),
        RowFactory.create("purchase_propensity_30d", 30, "base_rate", null, 0.2),
        RowFactory.create("purchase_propensity_30d", 30, "top_decile_lift", null, 2.5)));
    for (int d = 1; d <= 10; d++) {
      rows.add(RowFactory.create("purchase_propensity_30d", 30, "users", d, 12.0));
      rows.add(RowFactory.create("purchase_propensity_30d", 30, "mean_score", d, (11 - d) / 20.0));
      rows.add(RowFactory.create("purchase_propensity_30d", 30, "observed_rate", d, (11 - d) / 22.0));
    }
    return rows;
  }

  private static Dataset<Row> dataset(List<Row> rows, StructType schema) {
    return SparkTestSession.get().createDataFrame(rows, schema);
  }

  /** segment_kpis' segments of {@code dimension}, with their users. */
  private static Map<String, Long> segments(Dataset<Row> kpis, String dimension) {
    Map<String, Long> out = new HashMap<>();
    kpis.where(kpis.col("dimension").equalTo(dimension)).collectAsList()
        .forEach(r -> out.put(r.getAs("segment"), r.<Long>getAs("users")));
    return out;
  }

  @Test
  void kpisTransitionsHistoryAndTheReportAreWrittenFromTheSegmentsResultOrFromTheOutput() throws Exception {
    RunContext ctx = staged();
    FeaturesStage features = new FeaturesStage(ctx);
    ValidateStage.Result v = new ValidateStage(ctx, caches).run(features.fold());
    SegmentStage.Result s = new SegmentStage(ctx).run(features.run(v, caches).features(), caches);

    ReportStage.Result r = new ReportStage(ctx).run(ReportStage.Input.of(s), v, caches);
    assertEquals(List.of(OutputWriter.SEGMENT_KPIS, OutputWriter.HOLDOUT_UPLIFT, OutputWriter.SEGMENT_TRANSITIONS,
        OutputWriter.SEGMENT_HISTORY), r.report().tables().stream().map(StageReport.TableWrite::table).toList());
    assertEquals(USERS, ((Number) r.kpis().get("users")).longValue());
    assertEquals(List.of("report.md", "report.html"), List.copyOf(r.report().files().keySet()));
    String md = Files.readString(Path.of(ctx.out().writePath(OutputWriter.RUNS), "report.md"));
    assertTrue(md.contains("duplicates"), "the data-quality table counts the repeated events: " + md);
    for (String persona : s.facts().names().values()) {
      assertTrue(md.contains(persona), persona + " has a card");
    }

    // The same report from the tables read back, as `personas report` reads them.
    ReportStage.Result back = new ReportStage(ctx).run(ReportStage.Input.readBack(ctx), null, caches);
    assertEquals(r.kpis().keySet(), back.kpis().keySet());
    r.kpis().forEach((k, value) -> {
      // Sums over rows read back in another order may differ in the last bit.
      if (value instanceof Double d) {
        assertEquals(d, (Double) back.kpis().get(k), Math.abs(d) * 1e-12, k);
      } else {
        assertEquals(value, back.kpis().get(k), k);
      }
    });
    assertEquals(r.report().tables(), back.report().tables());
  }

  @Test
  void predictedDimensionsAndScoresComeFromThePredictionsJoinedByUserIdAndTiersMoveOnlyBetweenRunsWithTiers()
      throws Exception {
    RunContext ctx = staged();
    FeaturesStage features = new FeaturesStage(ctx);
    ValidateStage.Result v = new ValidateStage(ctx, caches).run(features.fold());
    FeaturesStage.Result f = features.run(v, caches);
    SegmentStage.Result s = new SegmentStage(ctx).run(f.features(), caches);
    List<Row> rows = predictionRows(s.users());
    Dataset<Row> predictions = dataset(rows, PREDICTIONS);
    ReportStage.Input input = new ReportStage.Input(s.users(), s.personas(), s.kSelection(), predictions,
        metricRows(), false);

    new ReportStage(ctx).run(input, v, caches);
    Dataset<Row> kpis = ctx.out().read(OutputWriter.SEGMENT_KPIS);
    Map<String, Long> tiers = new HashMap<>();
    Map<String, Long> bands = new HashMap<>();
    for (Row r : rows) {
      tiers.merge(r.getString(PREDICTIONS.fieldIndex("value_tier")), 1L, Long::sum);
      bands.merge(r.getString(PREDICTIONS.fieldIndex("churn_risk_band")), 1L, Long::sum);
    }
    assertEquals(tiers, segments(kpis, "value_tier"), "one segment per tier, every user in one");
    assertEquals(bands, segments(kpis, "churn_risk_band"));
    assertTrue(segments(kpis, "propensity_decile").isEmpty(), "a predicted column is a dimension only when listed");
    Dataset<Row> transitions = ctx.out().read(OutputWriter.SEGMENT_TRANSITIONS);
    assertEquals(USERS, transitions.where("dimension = 'value_tier' AND from_segment = '(new)'")
        .agg(org.apache.spark.sql.functions.sum("users")).first().getLong(0), "a first run: every tier is new");

    // The card of each persona shows its users' mean P(alive), worked out here from the rows.
    Map<String, String> personaOf = new HashMap<>();
    s.users().select("user_id", "persona_id").collectAsList().forEach(r -> personaOf.put(r.getString(0), r.getString(1)));
    String md = Files.readString(Path.of(ctx.out().writePath(OutputWriter.RUNS), "report.md"));
    for (String persona : new TreeSet<>(personaOf.values())) {
      double sum = 0;
      int n = 0;
      for (Row r : rows) {
        if (persona.equals(personaOf.get(r.getString(0))) && !r.isNullAt(1)) {
          sum += r.getDouble(1);
          n++;
        }
      }
      String card = md.substring(md.indexOf("### " + persona + " · "));
      card = card.substring(0, card.indexOf("\n\n", card.indexOf("- Play:")));
      String expected = n == 0 ? "- Predicted: 30-day purchase propensity"
          : String.format(Locale.ROOT, "- Predicted: P(alive) %.2f · 365-day CLV ", sum / n);
      assertTrue(card.contains(expected), expected + " in\n" + card);
    }
    assertTrue(md.contains("## RFM segments: predicted value") && md.contains("### 30-day purchase propensity"), md);
    String html = Files.readString(Path.of(ctx.out().writePath(OutputWriter.RUNS), "report.html"));
    assertTrue(html.contains("30-day purchase propensity: calibration") && html.contains("lift by decile"));

    // `personas report` reads this date's predictions and model_metrics back from the output.
    ctx.out().write(OutputWriter.PREDICTIONS, predictions, rows.size());
    ctx.out().write(OutputWriter.MODEL_METRICS, dataset(metricRows(), MODEL_METRICS), metricRows().size());
    new ReportStage(ctx).run(ReportStage.Input.readBack(ctx), null, caches);
    Dataset<Row> back = ctx.out().read(OutputWriter.SEGMENT_KPIS);
    assertEquals(tiers, segments(back, "value_tier"));
    assertEquals(bands, segments(back, "churn_risk_band"));
    String mdBack = Files.readString(Path.of(ctx.out().writePath(OutputWriter.RUNS), "report.md"));
    assertEquals(predicted(md), predicted(mdBack), "the same scores and checks from the tables read back");

    // The day before, published by a run without predictions (its segments and features are
    // today's): the other dimensions have transitions from it, the tiers none, and nobody is warned.
    Path out = dir.resolve("out");
    java.time.LocalDate before = RunFixture.D.minusDays(1);
    s.segments().write().parquet(out.resolve(OutputWriter.SEGMENTS).resolve("dt=" + before).toString());
    f.features().write().parquet(out.resolve(OutputWriter.FEATURES).resolve("dt=" + before).toString());
    ReportStage.Result r = new ReportStage(ctx).run(input, v, caches);
    assertEquals(List.of("lifecycle_stage", "persona_id", "rfm_segment"), distinct(ctx.out()
        .read(OutputWriter.SEGMENT_TRANSITIONS).where("from_segment <> '(new)'"), "dimension"));
    assertEquals(List.of(), r.report().warnings());

    // Once the day before has tiers too (everyone in the top tier), users move from it to today's.
    Dataset<Row> yesterday = predictions.withColumn("value_tier", org.apache.spark.sql.functions.lit("Top 10%"));
    yesterday.write().parquet(out.resolve(OutputWriter.PREDICTIONS).resolve("dt=" + before).toString());
    new ReportStage(ctx).run(input, v, caches);
    Dataset<Row> moves = ctx.out().read(OutputWriter.SEGMENT_TRANSITIONS).where("dimension = 'value_tier'");
    assertEquals(List.of("Top 10%"), distinct(moves, "from_segment"));
    assertEquals(new TreeSet<>(tiers.keySet()), new TreeSet<>(distinct(moves, "to_segment")));
  }

  /** The distinct values of {@code column}, sorted. */
  private static List<String> distinct(Dataset<Row> rows, String column) {
    return rows.select(column).distinct().orderBy(column).collectAsList().stream().map(r -> r.getString(0)).toList();
  }

  /** The report's lines about predictions: the cards' scores and the checks of the models. */
  private static String predicted(String md) {
    String checks = md.substring(md.indexOf("## How well the scores predict"), md.indexOf("## Data quality"));
    return md.lines().filter(l -> l.startsWith("- Predicted:") || l.startsWith("- **")).toList() + checks;
  }

  @Test
  void aRunWithoutPredictionsOrWithoutTheirPredictedColumnsLeavesThoseDimensionsOut() throws Exception {
    RunContext ctx = staged("personas.predict.enabled = false");
    FeaturesStage features = new FeaturesStage(ctx);
    ValidateStage.Result v = new ValidateStage(ctx, caches).run(features.fold());
    SegmentStage.Result s = new SegmentStage(ctx).run(features.run(v, caches).features(), caches);
    PredictStage.Result off = new PredictStage(ctx).run(s.users(), null, caches);

    new ReportStage(ctx).run(ReportStage.Input.of(s).with(off), v, caches);
    List<String> base = List.of("lifecycle_stage", "persona_id", "rfm_segment");
    assertEquals(base, dimensions(ctx));
    String md = Files.readString(Path.of(ctx.out().writePath(OutputWriter.RUNS), "report.md"));
    assertFalse(md.contains("Predicted:") || md.contains("How well the scores"), md);

    // Predictions as the PREDICT stage writes them before its propensity models: scores, no tier.
    Dataset<Row> scoresOnly = dataset(predictionRows(s.users()), PREDICTIONS)
        .drop("value_tier", "churn_risk_band", "propensity_decile", "purchase_propensity_30d", "churn_risk_30d");
    new ReportStage(ctx).run(new ReportStage.Input(s.users(), s.personas(), s.kSelection(), scoresOnly, null, false),
        v, caches);
    assertEquals(base, dimensions(ctx));
    md = Files.readString(Path.of(ctx.out().writePath(OutputWriter.RUNS), "report.md"));
    assertTrue(md.contains("- Predicted: P(alive) "), md);
    assertFalse(md.contains("purchase propensity") || md.contains("How well the scores"), md);

    // A predicted dimension with one value for everyone (all null, or all "Unknown" when the
    // propensity models could not be trained) says nothing: it is left out, the others stay.
    Dataset<Row> flatTiers = dataset(predictionRows(s.users()), PREDICTIONS)
        .withColumn("value_tier", org.apache.spark.sql.functions.lit(null).cast("string"))
        .withColumn("churn_risk_band", org.apache.spark.sql.functions.lit("Unknown"));
    new ReportStage(ctx).run(new ReportStage.Input(s.users(), s.personas(), s.kSelection(), flatTiers, List.of(),
        false), v, caches);
    assertEquals(base, dimensions(ctx));
  }

  private static List<String> dimensions(RunContext ctx) {
    return distinct(ctx.out().read(OutputWriter.SEGMENT_KPIS), "dimension");
  }

  @Test
  void pAliveIsLeftOffTheCardsOnlyWhenEverySegmentReadsAtLeast099() {
    StructType schema = StructType.fromDDL("user_id string, persona_id string, rfm_segment string,"
        + " p_alive double, clv_365d double");
    io.github.personas.pipeline.report.ScoreMeans.Columns cols = io.github.personas.pipeline.report.ScoreMeans.Columns
        .of(List.of(schema.fieldNames()), List.of(365));
    // user, persona, RFM segment, P(alive), CLV; user c's P(alive) is the lowest segment mean (P02's
    // and Lost's) and varies: a fit that sees nobody drop out (every buyer >= 0.99), then one where the
    // lapsed persona's mean is 0.6.
    java.util.function.DoubleFunction<Dataset<Row>> users = c -> dataset(List.of(
        RowFactory.create("a", "P01", "Champions", 1.0, 120.0),
        RowFactory.create("b", "P01", "Champions", 0.995, 80.0),
        RowFactory.create("c", "P02", "Lost", c, 5.0),
        RowFactory.create("d", "P02", "Prospects", null, null)), schema);
    ReportData.Predicted p = ReportStage.predicted(users.apply(0.999), cols, List.of());
    assertTrue(p.pAliveWithheld());
    assertTrue(p.scores().stream().allMatch(s -> s.pAlive() == null), p.scores().toString());
    assertEquals(100.0, p.of("persona_id", "P01").clv(), 1e-9, "the other scores stay");

    ReportData.Predicted q = ReportStage.predicted(users.apply(0.6), cols, List.of());
    assertFalse(q.pAliveWithheld());
    assertEquals(0.6, q.of("persona_id", "P02").pAlive(), 1e-12);
    assertEquals(0.9975, q.of("persona_id", "P01").pAlive(), 1e-12);

    // At the edge: a lowest segment mean of 0.99 is withheld, of 0.989 shown.
    for (double lowest : new double[] {0.99, 0.989}) {
      assertEquals(lowest >= 0.99, ReportStage.predicted(users.apply(lowest), cols, List.of()).pAliveWithheld(),
          "lowest mean " + lowest);
    }
  }

  @Test
  void aPersonaIsLabelledByIdAndItsLatestNameAndOtherSegmentsAsTheyAre() {
    Map<String, String> names = Map.of("P01", "Late-night snackers", "P07", "Gone since yesterday");
    assertEquals("P01 Late-night snackers", ReportStage.label("P01", names));
    assertEquals("P07 Gone since yesterday", ReportStage.label("P07", names));
    assertEquals("P09", ReportStage.label("P09", names), "an id no run named stays an id");
    assertEquals("(new)", ReportStage.label("(new)", names));
    assertEquals(null, ReportStage.label(null, names));
  }

  @Test
  void onlyPredictedDimensionsMayBeMissing() {
    List<String> configured = List.of("rfm_segment", "value_tier", "churn_risk_band");
    assertEquals(List.of("rfm_segment"), ReportStage.dimensions(configured, List.of("user_id", "rfm_segment")));
    assertEquals(configured, ReportStage.dimensions(configured, List.of("rfm_segment", "value_tier",
        "churn_risk_band")));
    // A column that is neither there nor predicted is kept, for SegmentKpis to name it in its error.
    assertEquals(List.of("shoe_size"), ReportStage.dimensions(List.of("shoe_size", "value_tier"), List.of("user_id")));
    assertThrows(ConfigException.class, () -> ReportStage.dimensions(List.of("value_tier"), List.of("user_id")));
  }
}
