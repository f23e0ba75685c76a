package io.github.personas.pipeline.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class SegmentKpisTest {

  static final StructType USERS = StructType.fromDDL("user_id string, rfm_segment string, lifecycle_stage string,"
      + " holdout boolean, is_buyer boolean, frequency bigint, monetary double, avg_order_value double,"
      + " recency_days int, sessions_7d bigint, sessions_30d bigint, active_days_30d int, active_days_prev_30d int,"
      + " push_opt_in boolean, email_opt_in boolean, sms_opt_in boolean, message_open_rate double,"
      + " message_click_rate double");

  /** One user; money is also the order value of its single order. */
  static Row user(String id, String segment, String stage, boolean holdout, double money, boolean active) {
    boolean buyer = money > 0;
    return RowFactory.create(id, segment, stage, holdout, buyer, buyer ? 1L : 0L, money, buyer ? money : null,
        buyer ? 3 : null, active ? 2L : 0L, active ? 5L : 0L, active ? 4 : 0, 1, true, null, false, 0.5, 0.1);
  }

  /** Segment "A" holds the Welch example's first sample as monetary, "B" the second. */
  static Dataset<Row> textbookUsers() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < SignificanceTestsTest.A1.length; i++) {
      rows.add(user("a" + i, "A", "Dormant", i % 5 == 0, SignificanceTestsTest.A1[i], i < 12));
      rows.add(user("b" + i, "B", "Active", i % 5 == 1, SignificanceTestsTest.A2[i], i < 3));
    }
    rows.add(user("n1", null, "Never launched", false, 0, false));
    return SparkTestSession.get().createDataFrame(rows, USERS);
  }

  static SegmentKpis kpis() {
    return new SegmentKpis(List.of("rfm_segment", "lifecycle_stage"), Kpi.defaults(List.of("Dormant")), 0.05, 0.0);
  }

  @Test
  void kpiRowsReconcileWithThePopulationInEveryDimension() {
    SegmentKpis.Result r = kpis().apply(textbookUsers());
    double revenue = 0;
    for (double x : SignificanceTestsTest.A1) {
      revenue += x;
    }
    for (double x : SignificanceTestsTest.A2) {
      revenue += x;
    }
    List<Row> sums = r.kpis().groupBy("dimension").agg(org.apache.spark.sql.functions.sum("users"),
        org.apache.spark.sql.functions.sum("revenue"), org.apache.spark.sql.functions.sum("share"),
        org.apache.spark.sql.functions.sum("buyers")).orderBy("dimension").collectAsList();
    assertEquals(2, sums.size());
    for (Row s : sums) {
      assertEquals(31L, s.getLong(1), "users of " + s.getString(0));
      assertEquals(revenue, s.getDouble(2), 1e-9, "revenue of " + s.getString(0));
      assertEquals(1.0, s.getDouble(3), 1e-12);
      assertEquals(30L, s.getLong(4));
    }
    assertEquals(31L, r.population().get("users"));
    assertEquals(revenue, (double) r.population().get("revenue"), 1e-9);
  }

  @Test
  void eachSegmentIsTestedAgainstEveryoneElseWithLiftOverThePopulation() {
    Map<String, Row> bySegment = kpis().apply(textbookUsers()).kpis().where("dimension = 'rfm_segment'")
        .collectAsList().stream().collect(Collectors.toMap(r -> r.getAs("segment"), r -> r));
    assertEquals(List.of("(none)", "A", "B"), bySegment.keySet().stream().sorted().toList());
    Row a = bySegment.get("A");
    double meanA = SignificanceTestsTest.moments(SignificanceTestsTest.A1).mean();
    assertEquals(meanA, (double) a.getAs("avg_order_value"), 1e-9);
    // Buyers of A vs everyone else's buyers is exactly the textbook comparison A1 vs A2.
    assertEquals(0.021378, (double) a.getAs("avg_order_value_p_value"), 2e-5);
    assertTrue((boolean) a.getAs("avg_order_value_significant"));
    double popAov = (SignificanceTestsTest.moments(SignificanceTestsTest.A1).sum()
        + SignificanceTestsTest.moments(SignificanceTestsTest.A2).sum()) / 30;
    assertEquals(meanA / popAov, (double) a.getAs("avg_order_value_lift"), 1e-9);
    // Active in 7 days: 12 of 15 in A vs 3 of 16 elsewhere.
    assertEquals(12.0 / 15, (double) a.getAs("active_rate_7d"), 1e-12);
    assertEquals(SignificanceTests.twoProportions(12, 15, 3, 16), (double) a.getAs("active_rate_7d_p_value"), 1e-12);
    // Opt-in known for push (all true: no test possible), unknown for email
    assertEquals(1.0, (double) a.getAs("push_opt_in_rate"), 1e-12);
    assertTrue(a.isNullAt(a.fieldIndex("push_opt_in_rate_p_value")));
    assertFalse((boolean) a.getAs("push_opt_in_rate_significant"));
    assertTrue(a.isNullAt(a.fieldIndex("email_opt_in_rate")), "no user has a known email choice");
    // Dormant share follows the configured stage
    assertEquals(1.0, (double) a.getAs("dormant_share"), 1e-12);
    assertEquals(0.0, (double) bySegment.get("B").getAs("dormant_share"), 1e-12);
  }

  @Test
  void holdoutUpliftComparesHoldoutWithTreatedUsersPerSegment() {
    List<Row> rows = kpis().apply(textbookUsers()).holdoutUplift()
        .where("dimension = 'rfm_segment' AND segment = 'A' AND kpi = 'arpu'").collectAsList();
    assertEquals(1, rows.size());
    Row r = rows.get(0);
    // Holdout of A: users 0, 5, 10
    double[] a = SignificanceTestsTest.A1;
    double holdout = (a[0] + a[5] + a[10]) / 3;
    double treated = (SignificanceTestsTest.moments(a).sum() - 3 * holdout) / 12;
    assertEquals(12L, (long) r.getAs("treated_users"));
    assertEquals(3L, (long) r.getAs("holdout_users"));
    assertEquals(holdout, (double) r.getAs("holdout_value"), 1e-9);
    assertEquals(treated - holdout, (double) r.getAs("difference"), 1e-9);
    assertEquals(2L, kpis().apply(textbookUsers()).holdoutUplift()
        .where("dimension = '(all)' AND kpi = 'conversion_rate'").selectExpr("holdout_users").first().getLong(0) / 3);
  }

  /**
   * Users of the segments of {@code table}, rows of (segment, users, buyers): the first {@code buyers}
   * users of a segment bought once for 10.
   */
  static Dataset<Row> conversionUsers(Object[][] table) {
    List<Row> segments = new ArrayList<>();
    for (Object[] r : table) {
      segments.add(RowFactory.create(r));
    }
    // Expanded by Spark, not on the driver: 100,000 rows built here would ship in every task.
    return SparkTestSession.get().createDataFrame(segments, StructType.fromDDL("segment string, users int, buyers int"))
        .selectExpr("segment", "buyers", "explode(sequence(1, users)) AS i")
        .selectExpr("concat(segment, '-', i) AS user_id", "segment AS rfm_segment", "false AS holdout",
            "i <= buyers AS is_buyer", "CAST(IF(i <= buyers, 1, 0) AS BIGINT) AS frequency",
            "IF(i <= buyers, 10.0, 0.0) AS monetary");
  }

  static final Kpi CONVERSION = Kpi.defaults(List.of()).get(0);

  @Test
  void aKpiIsMarkedSignificantOnlyWhenItsQValueIsBelowTheLevelAndItsLiftClearsTheMinimumEffect() {
    // One KPI, four segments, so the table makes m = 4 tests. Each segment against everyone else:
    // pooled two-proportion z, its two-sided p, then Benjamini-Hochberg by hand: ranked by p,
    // q = min over ranks j >= i of p_(j) * 4 / j. The population converts 10,000 / 100,000 = 10 %.
    Object[][] table = {
        // segment, users, buyers      rate     lift    z        p           rank  q
        {"Trivial", 90_000, 9_243}, // 10.27 %  1.027×   8.538   1.3639e-17  2     1.3639e-17 * 4 / 2 = 2.7278e-17
        {"Real", 6_000, 330},       //  5.50 %  0.550× -11.984   4.3085e-33  1     4.3085e-33 * 4 / 1 = 1.7234e-32
        {"Nearly", 2_000, 227},     // 11.35 %  1.135×   2.033   0.042063    3     0.042063 * 4 / 3 = 0.056084
        {"Average", 2_000, 200}};   // 10.00 %  1.000×   0       1           4     1
    Map<String, Row> marked = bySegment(new SegmentKpis(List.of("rfm_segment"), List.of(CONVERSION), 0.05, 0.05)
        .apply(conversionUsers(table)));

    assertEquals(1.027, (double) marked.get("Trivial").getAs("conversion_rate_lift"), 1e-12);
    assertEquals(0.042063, (double) marked.get("Nearly").getAs("conversion_rate_p_value"), 1e-6);
    assertEquals(2.7278e-17, (double) marked.get("Trivial").getAs("conversion_rate_q_value"), 1e-16);
    assertEquals(1.7234e-32, (double) marked.get("Real").getAs("conversion_rate_q_value"), 1e-16);
    assertEquals(0.056084, (double) marked.get("Nearly").getAs("conversion_rate_q_value"), 1e-6);
    assertEquals(1.0, (double) marked.get("Average").getAs("conversion_rate_q_value"), 1e-12);
    // Real: a discovery 45 % below the population. Trivial: a discovery too, but 2.7 % above it.
    // Nearly: 13.5 % above it and p below 0.05, but not a discovery once the other tests count.
    assertEquals(Map.of("Trivial", false, "Real", true, "Nearly", false, "Average", false), significant(marked));

    // Without a minimum effect every discovery is marked, however small.
    Map<String, Row> anyEffect = bySegment(new SegmentKpis(List.of("rfm_segment"), List.of(CONVERSION), 0.05, 0.0)
        .apply(conversionUsers(table)));
    assertEquals(Map.of("Trivial", true, "Real", true, "Nearly", false, "Average", false), significant(anyEffect));
  }

  private static Map<String, Row> bySegment(SegmentKpis.Result r) {
    assertEquals(4, r.tests());
    return r.kpis().collectAsList().stream().collect(Collectors.toMap(x -> x.getAs("segment"), x -> x));
  }

  private static Map<String, Boolean> significant(Map<String, Row> bySegment) {
    return bySegment.entrySet().stream()
        .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().<Boolean>getAs("conversion_rate_significant")));
  }
}
