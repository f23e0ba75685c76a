package io.github.personas.pipeline.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class ScoreMeansTest {

  private static final StructType USERS = StructType.fromDDL("user_id string, persona_id string,"
      + " rfm_segment string, p_alive double, clv_90d double, clv_365d double, purchase_propensity_30d double,"
      + " churn_risk_30d double");

  /** Five users: two buyers and a never-buyer in P01, a buyer and a never-buyer in P02. */
  private static Dataset<Row> users() {
    return SparkTestSession.get().createDataFrame(List.of(
        RowFactory.create("u1", "P01", "Champions", 0.9, 50.0, 120.0, 0.6, 0.4),
        RowFactory.create("u2", "P01", "At risk", 0.3, 5.0, 20.0, 0.2, 0.8),
        RowFactory.create("u3", "P01", "Prospects", null, null, null, 0.1, 0.9),
        RowFactory.create("u4", "P02", "Champions", 0.6, 30.0, 100.0, 0.5, 0.5),
        RowFactory.create("u5", "P02", null, null, null, null, null, null)), USERS);
  }

  private static final ScoreMeans.Columns ALL = ScoreMeans.Columns.of(List.of(USERS.fieldNames()), List.of(30, 90, 365));

  @Test
  void theColumnsAreTheLongestClvAndThePropensityHorizonTheirNamesCarry() {
    assertEquals(new ScoreMeans.Columns("p_alive", "clv_365d", 365, "purchase_propensity_30d", "churn_risk_30d", 30),
        ALL);
    // Predictions before propensity models, or configured with a horizon they were not written with.
    assertEquals(new ScoreMeans.Columns("p_alive", null, null, null, null, null),
        ScoreMeans.Columns.of(List.of("user_id", "p_alive", "clv_90d"), List.of(30, 180)));
    assertEquals(new ScoreMeans.Columns(null, null, null, null, "churn_risk_14d", 14),
        ScoreMeans.Columns.of(List.of("user_id", "churn_risk_14d"), List.of(30)));
    assertEquals(List.of(), ScoreMeans.Columns.NONE.present());
  }

  @Test
  void eachMeanIsOverTheUsersWithThatScoreLargestSegmentFirst() {
    List<ReportData.SegmentScores> means = ScoreMeans.apply(users(), List.of("persona_id", "rfm_segment"), ALL);
    assertEquals(List.of("P01", "P02", "Champions", "(none)", "At risk", "Prospects"),
        means.stream().map(ReportData.SegmentScores::segment).toList());
    ReportData.SegmentScores p01 = means.get(0);
    assertEquals(3, p01.users());
    assertEquals((0.9 + 0.3) / 2, p01.pAlive(), 1e-12, "u3 never bought: no P(alive), not a zero");
    assertEquals((120.0 + 20.0) / 2, p01.clv(), 1e-12);
    assertEquals((0.6 + 0.2 + 0.1) / 3, p01.purchasePropensity(), 1e-12);
    assertEquals((0.4 + 0.8 + 0.9) / 3, p01.churnRisk(), 1e-12);
    ReportData.SegmentScores none = means.get(3);
    assertEquals("rfm_segment", none.dimension());
    assertEquals(new ReportData.SegmentScores("rfm_segment", "(none)", 1, null, null, null, null), none);
    ReportData.SegmentScores champions = means.get(2);
    assertEquals(2, champions.users());
    assertEquals(0.75, champions.pAlive(), 1e-12);
    assertEquals(110.0, champions.clv(), 1e-12);
    assertEquals(0.55, champions.purchasePropensity(), 1e-12);
    assertEquals(0.45, champions.churnRisk(), 1e-12);
  }

  @Test
  void withoutScoreColumnsThereIsNothingToAverage() {
    assertEquals(List.of(), ScoreMeans.apply(users(), List.of("persona_id"), ScoreMeans.Columns.NONE));
    ReportData.SegmentScores p02 = ScoreMeans.apply(users().drop("clv_365d"), List.of("persona_id"),
        new ScoreMeans.Columns("p_alive", null, null, null, null, null)).get(1);
    assertEquals(0.6, p02.pAlive(), 1e-12);
    assertNull(p02.clv());
  }
}
