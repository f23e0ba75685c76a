package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.io.RunLock;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which rows an erasure removes, table by table, and that it waits for no one: a date being run is refused. */
class ForgetRunTest {

  private static final LocalDate D = LocalDate.parse("2024-03-10");
  private final SparkSession spark = SparkTestSession.get();

  @TempDir
  Path dir;

  private void table(Path out, String table, String columns, String... sqlRows) throws Exception {
    spark.sql("SELECT * FROM VALUES " + String.join(", ", sqlRows) + " AS t(" + columns + ")").coalesce(1)
        .write().mode(SaveMode.Overwrite).parquet(out.resolve(table).resolve("dt=" + D).toString());
  }

  private List<String> column(Path out, String table, String column) {
    return spark.read().parquet(out.resolve(table).resolve("dt=" + D).toString()).select(column).orderBy(column)
        .collectAsList().stream().map(r -> String.valueOf(r.get(0))).toList();
  }

  /** The online-retail example (user_id from CustomerID) with a salt, writing into {@code out}. */
  private PersonasConfig config(Path out, String salt) throws Exception {
    Path conf = Files.writeString(dir.resolve("forget.conf"), "include file(\""
        + Path.of("../conf/examples/online-retail.conf").toAbsolutePath() + "\")\npersonas.privacy.salt = \"" + salt
        + "\"\n");
    return ConfigLoader.load(conf.toFile()).withPaths(null, null, out.toString());
  }

  @Test
  void rowsOfListedUsersGoInRawOrHashedFormAndQuarantinedRowsWhereTheirSourceTakesTheIdFrom() throws Exception {
    Path out = dir.resolve("out");
    //    table        columns       rows                                                                kept
    table(out, "features", "user_id, orders",
        "(sha2('pepper' || 'u-a', 256), 3)", "('u-b', 1)", "('u-a', 2)", "(' u-a ', 4)");              // u-b
    table(out, "quarantine", "source, reason, raw",
        "('events', 'missing_event_time', '{\"CustomerID\":17850,\"StockCode\":\"85123A\"}')",        // gone
        "('events', 'unknown_event', '{\"CustomerID\":12346,\"StockCode\":\"17850\"}')",              // kept: not 17850's
        "('events', 'missing_user_id', '{\"CustomerID\":null,\"Country\":\"UK\"}')",                   // kept
        "('events', 'malformed_json', '{\"CustomerID\": \"u-a\", \"Coun')");                          // gone: not JSON
    table(out, "personas", "persona_id, users", "('P01', 3)");                                         // no user
    Path ids = Files.writeString(dir.resolve("ids.txt"), "u-a\n17850\n");
    ForgetRun.Result r = new ForgetRun(spark, config(out, "pepper")).forget(ids.toString(), "text");
    assertEquals(List.of("u-b"), column(out, "features", "user_id"));
    assertEquals(List.of("missing_user_id", "unknown_event"), column(out, "quarantine", "reason"));
    assertEquals(List.of("P01"), column(out, "personas", "persona_id"));
    assertEquals(List.of(new ForgetRun.Removed("features", D, 3), new ForgetRun.Removed("quarantine", D, 2)),
        r.removed());
    assertEquals(2, r.scanned(), "features and quarantine name users; personas does not");
    assertEquals(2, r.listedIds());
    assertEquals(java.util.Map.of(), r.notDone());
  }

  @Test
  void aDateWhoseRunIsInProgressIsLeftAsItWasAndNamedWhileTheOtherDatesAreDone() throws Exception {
    Path out = dir.resolve("out");
    table(out, "features", "user_id", "('u-a')", "('u-b')");
    LocalDate other = D.minusDays(1);
    spark.sql("SELECT 'u-a' AS user_id").write().parquet(out.resolve("features/dt=" + other).toString());
    Path ids = Files.writeString(dir.resolve("ids.txt"), "u-a\n");
    ForgetRun.Result r;
    try (RunLock running = new OutputWriter(spark, out.toString(), D, 1, 1_000_000).lock()) {
      r = new ForgetRun(spark, config(out, "")).forget(ids.toString(), "text");
      assertTrue(r.notDone().get(D).contains(running.holder().runId()), r.notDone().toString());
    }
    assertEquals(List.of("u-a", "u-b"), column(out, "features", "user_id"), "the date being run is left as it was");
    assertEquals(List.of(new ForgetRun.Removed("features", other, 1)), r.removed(), "the other date is done");
    assertTrue(Files.readString(Path.of(r.receipt())).contains("\"status\" : \"partial\""));
  }
}
