package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.NamedExpr;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** The shipped playbook's first matching play on hand-made persona profiles. */
class ShippedPlaybookTest {

  private static final StructType PROFILE = StructType.fromDDL("persona string, dominant_lifecycle_stage string,"
      + " uninstalled double, lapsing_share double, z_frequency double, z_monetary double");

  @Test
  void aPersonaMostlyLapsingIsReactivatedEvenWhenNoSingleStageLeads() {
    List<PersonasConfig.Play> plays = ConfigLoader.defaults().personas().playbook();
    RuleTable table = new RuleTable("playbook", plays.stream().map(p -> new NamedExpr(p.goal(), p.when())).toList());
    // persona, dominant stage, uninstalled share, lapsing share, z frequency, z monetary: goal
    Object[][] cases = {
        // CDNOW's big spenders: 36 % converted low spenders, 35 % dormant, 20 % churned.
        {"big spenders going quiet", "Converted low spender", 0.0, 0.55, 0.6, 0.8, "Reactivate"},
        {"big spenders still buying", "Converted low spender", 0.0, 0.30, 0.6, 0.8, "Grow order value"},
        {"mostly churned", "Churned", 0.0, 0.90, -0.5, -0.5, "Win back"},
        {"VIPs, a few lapsing", "Converted", 0.0, 0.20, 1.5, 2.0, "Reward and advocacy"},
        {"never opened the app", "Never launched", 0.0, 0.0, -0.5, -0.5, "First launch"},
    };
    List<Row> rows = java.util.Arrays.stream(cases)
        .map(c -> RowFactory.create(c[0], c[1], c[2], c[3], c[4], c[5])).toList();
    List<Row> got = SparkTestSession.get().createDataFrame(rows, PROFILE)
        .select(org.apache.spark.sql.functions.col("persona"), table.label()).collectAsList();
    for (int i = 0; i < cases.length; i++) {
      assertEquals(cases[i][6], got.get(i).getString(1), (String) cases[i][0]);
    }
  }
}
