package io.github.personas.jobs;

import io.github.personas.pipeline.engine.Caches;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.NamedExpr;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.io.Contract;
import io.github.personas.pipeline.segment.RfmScorer;
import io.github.personas.pipeline.testing.ContractRows;
import io.github.personas.pipeline.testing.SparkTestSession;
import io.github.personas.pipeline.validate.ContractValidator;
import io.github.personas.pipeline.validate.SourceCounts;
import io.github.personas.pipeline.features.FeatureBuilder;
import io.github.personas.pipeline.validate.ValidationResult;
import java.io.File;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped example mappings read the real public files (shared/datasets) as they are. */
class ExampleConfigsTest {

  private static final Caches CACHES = new Caches();

  @org.junit.jupiter.api.AfterAll
  static void releaseCaches() {
    CACHES.close();
  }

  @TempDir
  Path dir;

  private static PersonasConfig example(String conf) {
    PersonasConfig c = ConfigLoader.load(new File("../conf/examples/" + conf));
    assumeTrue(new File("../" + c.events().path()).isFile(), "shared/datasets is not beside the checkout");
    // Paths in the examples are relative to the repository root; tests run in jobs/.
    return c.withPaths("../" + c.events().path(), null, null);
  }

  /** The events validated as a run of the example would: with its privacy and quality settings. */
  private static ValidationResult validated(PersonasConfig c, String date) {
    return new ContractValidator(SparkTestSession.get(), LocalDate.parse(date), c.privacy(),
        c.quality().maxRevenuePerEvent(), c.quality().earliestEventDate(), CACHES).events(c.events());
  }

  private static SourceCounts validate(String conf, String date) {
    return validated(example(conf), date).counts();
  }

  /**
   * Recency, frequency and monetary of every UCI customer, recomputed from the raw CSV with
   * plain SQL in DuckDB (another engine, no shared code), equal our features table.
   */
  @Test
  void onlineRetailRfmMatchesPlainSqlAndEveryBuyerGetsExactlyOneSegment() throws Exception {
    PersonasConfig c = example("online-retail.conf");
    ValidationResult v = validated(c, "2011-12-09");
    String features = dir.resolve("features").toString();
    new FeatureBuilder(LocalDate.parse("2011-12-09"), "UTC")
        .apply(v.accepted(), ContractRows.frame(SparkTestSession.get(), Contract.PROFILES, java.util.List.of()), CACHES)
        .write().parquet(features);
    String csv = new File(c.events().path()).getCanonicalPath();
    String sql = """
        WITH raw AS (
          SELECT CustomerID AS user_id, InvoiceNo, CAST(InvoiceDate AS TIMESTAMP) AS t,
                 CAST(Quantity AS DOUBLE) * CAST(UnitPrice AS DOUBLE) AS amount,
                 starts_with(InvoiceNo, 'C') AS cancelled
          FROM read_csv('%s', header = true, all_varchar = true)
          WHERE CustomerID IS NOT NULL AND CustomerID <> ''
        ),
        x AS (SELECT *, NOT cancelled AND amount >= 0 AS is_purchase, cancelled OR amount < 0 AS is_refund FROM raw),
        ref AS (
          SELECT user_id,
                 date_diff('day', CAST(max(CASE WHEN is_purchase THEN t END) AS DATE), DATE '2011-12-09') AS recency_days,
                 count(DISTINCT CASE WHEN is_purchase THEN InvoiceNo END) AS frequency,
                 coalesce(sum(CASE WHEN is_purchase THEN amount END), 0)
                   - coalesce(sum(CASE WHEN is_refund THEN abs(amount) END), 0) AS monetary
          FROM x GROUP BY user_id
        )
        SELECT count(*) AS customers,
               count(*) FILTER (WHERE f.user_id IS NOT NULL AND r.user_id IS NOT NULL
                 AND r.recency_days IS NOT DISTINCT FROM f.recency_days
                 AND r.frequency = f.frequency
                 AND abs(r.monetary - f.monetary) < 0.005) AS matching
        FROM ref r FULL OUTER JOIN read_parquet('%s/*.parquet') f ON r.user_id = f.user_id
        """.formatted(csv, features);
    try (Connection conn = DriverManager.getConnection("jdbc:duckdb:");
         Statement st = conn.createStatement();
         ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      long customers = rs.getLong(1);
      long matching = rs.getLong(2);
      System.out.printf("UCI Online Retail RFM vs plain SQL: %d of %d customers match (%.4f)%n",
          matching, customers, (double) matching / customers);
      assertEquals(4372, customers);
      assertEquals(customers, matching);
    }

    // Every customer who bought gets exactly one RFM segment of the shipped rule table.
    RfmScorer scorer = new RfmScorer(c.rfm());
    scorer.checkTable(SparkTestSession.get());
    java.util.List<String> names = c.rfm().segments().stream().map(NamedExpr::name).toList();
    org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> scored =
        scorer.apply(SparkTestSession.get().read().parquet(features)).users().cache();
    long buyers = scored.where("frequency > 0").count();
    long users = scored.count();
    assertEquals(users, scored.select("user_id").distinct().count(), "one row per customer");
    long segmented = scored.where("frequency > 0 AND r_score BETWEEN 1 AND 5 AND f_score BETWEEN 1 AND 5"
        + " AND m_score BETWEEN 1 AND 5").where(org.apache.spark.sql.functions.col("rfm_segment")
        .isin(names.toArray())).count();
    System.out.printf("UCI Online Retail: %d of %d buyers in one of %d RFM segments; %d customers in all%n",
        segmented, buyers, names.size(), users);
    assertTrue(buyers > 4000, "buyers: " + buyers);
    assertEquals(buyers, segmented);
    assertEquals(users - buyers, scored.where("rfm_segment = 'Prospects'").count());
  }

  @Test
  void onlineRetailReconcilesAllRowsAndQuarantinesRowsWithoutCustomer() {
    SourceCounts c = validate("online-retail.conf", "2011-12-09");
    assertEquals(541_909, c.read());
    assertEquals(Map.of("missing_user_id", 135_080L), c.byReason());
    assertEquals(406_829, c.accepted());
    assertEquals(0, c.duplicates());
    assertEquals(0, c.filtered());
  }

  @Test
  void cdnowSkipsOnlyTheHeaderLine() {
    SourceCounts c = validate("cdnow.conf", "1998-06-30");
    assertEquals(69_660, c.read());
    assertEquals(1, c.filtered());
    assertEquals(69_659, c.accepted());
    assertEquals(0, c.quarantined());
    assertEquals(Contract.EVENTS.name(), c.source());
  }
}
