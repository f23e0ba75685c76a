package io.github.personas.jobs;

import static io.github.personas.jobs.CliTesting.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.personas.pipeline.predict.BgNbd;
import io.github.personas.pipeline.predict.GammaGamma;
import io.github.personas.pipeline.predict.PurchaseHistories;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.io.File;
import java.nio.file.Path;
import java.time.LocalDate;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The purchase models fed by the pipeline's own features, on the CDNOW sample's calibration
 * period: every customer's summary equals the published one, and the fits give the paper's
 * parameters.
 */
class PurchaseModelsOnCdnowTest {

  private static final String SUMMARY = "../../shared/datasets/cdnow/cdnow_customers_summary_with_transactions.csv";

  @TempDir
  Path dir;

  @Test
  void theCalibrationFeaturesGiveThePublishedSummariesAndThePapersParameters() throws Exception {
    assumeTrue(new File(SUMMARY).isFile(), "shared/datasets is not beside the checkout");
    Path out = dir.resolve("out");
    assertEquals(0, CliTesting.cli("features", "--config", "../conf/examples/cdnow-calibration.conf", "--date",
        "1997-09-30", "--events", "../../shared/datasets/cdnow/CDNOW_sample.txt", "--output", out.toString(),
        "--quiet"));
    Dataset<Row> features = SparkTestSession.get().read().parquet(out.resolve("features/dt=1997-09-30").toString());
    Dataset<Row> weeks = PurchaseHistories.perUser(features, LocalDate.parse("1997-09-30"), 7);
    Path perUser = dir.resolve("per-user");
    weeks.write().parquet(perUser.toString());

    // Customer by customer, against the summaries published with the data (two decimals).
    String joined = "FROM read_parquet('" + perUser + "/*.parquet') f JOIN read_csv('" + SUMMARY
        + "') s ON CAST(f.user_id AS INT) = s.ID";
    assertEquals(2357, count("SELECT count(*) " + joined));
    assertEquals(2357, count("SELECT count(*) " + joined + " WHERE f.x = s.x AND abs(f.t_x - s.t_x) < 0.006"
        + " AND abs(f.t - s.T) < 0.006 AND (s.x = 0 OR abs(f.mean_repeat_value - s.zbar) < 0.006)"));

    BgNbd.Fit bg = BgNbd.fit(PurchaseHistories.histories(weeks), 0);
    assertEquals(0.243, round3(bg.params().r()));
    assertEquals(4.41, round3(bg.params().alpha()));
    assertEquals(0.793, round3(bg.params().a()));
    assertEquals(2.43, round3(bg.params().b()));
    assertEquals(-9582.4, bg.logLikelihood(), 0.1);
    GammaGamma.Fit gg = GammaGamma.fit(PurchaseHistories.spends(weeks), 0);
    assertEquals(946, gg.buyers());
    assertEquals(6.25, gg.params().p(), 0.01);
    assertEquals(3.74, gg.params().q(), 0.01);
    assertEquals(15.44, gg.params().v(), 0.01);
  }

  /** Three significant digits. */
  private static double round3(double v) {
    return new java.math.BigDecimal(v).round(new java.math.MathContext(3)).doubleValue();
  }
}
