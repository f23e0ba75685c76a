package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.NamedExpr;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class RfmScorerTest {

  private final SparkSession spark = SparkTestSession.get();

  private static PersonasConfig.Rfm rfm(List<NamedExpr> rules) {
    return new PersonasConfig.Rfm(0.0, "Prospects", rules);
  }

  @Test
  void shippedDefaultTableCoversEveryCellAndEveryRuleIsReachable() {
    new RfmScorer(ConfigLoader.defaults().rfm()).checkTable(spark);
  }

  @Test
  void aCellNoRuleCoversIsNamed() {
    RfmScorer s = new RfmScorer(rfm(List.of(new NamedExpr("Top", "r_score >= 2"))));
    ConfigException e = assertThrows(ConfigException.class, () -> s.checkTable(spark));
    assertTrue(e.getMessage().contains("r_score=1, f_score=1, m_score=1"), e.getMessage());
  }

  @Test
  void aShadowedRuleIsNamedWithTheRuleThatShadowsIt() {
    RfmScorer s = new RfmScorer(rfm(List.of(
        new NamedExpr("Recent", "r_score >= 3"),
        new NamedExpr("Champions", "r_score = 5 AND f_score = 5"),
        new NamedExpr("Rest", "true"))));
    ConfigException e = assertThrows(ConfigException.class, () -> s.checkTable(spark));
    assertTrue(e.getMessage().contains("'Champions'") && e.getMessage().contains("[Recent]"), e.getMessage());
  }

  @Test
  void aRuleThatDoesNotParseIsNamed() {
    RfmScorer s = new RfmScorer(rfm(List.of(new NamedExpr("Bad", "r_scor >= 3"), new NamedExpr("Rest", "true"))));
    ConfigException e = assertThrows(ConfigException.class, () -> s.checkTable(spark));
    assertTrue(e.getMessage().contains("'Bad'") && e.getMessage().contains("personas.rfm.segments[0]"), e.getMessage());
  }

  @Test
  void identicalValuesGetTheSameScoreAndNonBuyersGetTheNoPurchaseSegment() {
    List<Row> rows = new ArrayList<>();
    // 10 buyers: frequencies 1,1,1,1,1,1,2,3,4,5 (six ties at 1), recency 0..9, monetary 10..100
    int[] freq = {1, 1, 1, 1, 1, 1, 2, 3, 4, 5};
    for (int i = 0; i < 10; i++) {
      rows.add(RowFactory.create("b" + i, i, (long) freq[i], 10.0 * (i + 1)));
    }
    rows.add(RowFactory.create("n1", null, 0L, 0.0));
    var features = spark.createDataFrame(rows, StructType.fromDDL("user_id string, recency_days int, frequency long, monetary double"));
    RfmScorer s = new RfmScorer(ConfigLoader.defaults().rfm());
    Map<String, Row> scored = s.apply(features).users().collectAsList().stream()
        .collect(Collectors.toMap(r -> r.getAs("user_id"), r -> r));
    for (int i = 0; i < 6; i++) {
      assertEquals(1, (int) scored.get("b" + i).getAs("f_score"), "all frequency-1 buyers share one F score");
    }
    assertEquals(5, (int) scored.get("b9").getAs("f_score"));
    assertEquals(5, (int) scored.get("b0").getAs("r_score"), "most recent buyer: R = 5");
    assertEquals(1, (int) scored.get("b9").getAs("r_score"));
    assertEquals(5, (int) scored.get("b9").getAs("m_score"));
    assertEquals("Can't Lose Them", scored.get("b9").getAs("rfm_segment"));
    assertEquals("New Customers", scored.get("b0").getAs("rfm_segment"));
    Row n1 = scored.get("n1");
    assertNull(n1.getAs("r_score"));
    assertEquals("Prospects", n1.getAs("rfm_segment"));
  }
}
