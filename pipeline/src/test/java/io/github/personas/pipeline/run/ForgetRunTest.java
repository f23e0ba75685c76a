package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.io.RunLock;
import io.github.personas.pipeline.io.RunLockedException;
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

  private PersonasConfig config(Path out, String salt) throws Exception {
    Path conf = Files.writeString(dir.resolve("forget.conf"), "personas.privacy.salt = \"" + salt + "\"\n");
    return ConfigLoader.load(conf.toFile()).withPaths(null, null, out.toString());
  }

  @Test
  void rowsOfListedUsersGoInRawOrHashedFormAndWhereverARawRowNamesThem() throws Exception {
    Path out = dir.resolve("out");
    //    table        columns                          rows                                          kept
    table(out, "features", "user_id, orders",
        "(sha2('pepper' || 'a', 256), 3)", "('b', 1)", "('a', 2)");                                   // b
    table(out, "quarantine", "reason, raw",
        "('missing_event_time', '{\"CustomerID\":17850,\"Country\":\"UK\"}')",                       // gone: 17850
        "('missing_user_id', '{\"CustomerID\":null,\"Country\":\"UK\"}')",                           // kept
        "('unknown_event', '{\"CustomerID\":\" a \"}')");                                             // gone: a
    table(out, "personas", "persona_id, users", "('P01', 3)");                           // no user
    Path ids = Files.writeString(dir.resolve("ids.txt"), "a\n17850\n");
    ForgetRun.Result r = new ForgetRun(spark, config(out, "pepper")).forget(ids.toString(), "text");
    assertEquals(List.of("b"), column(out, "features", "user_id"));
    assertEquals(List.of("missing_user_id"), column(out, "quarantine", "reason"));
    assertEquals(List.of("P01"), column(out, "personas", "persona_id"));
    assertEquals(List.of(new ForgetRun.Removed("features", D, 2), new ForgetRun.Removed("quarantine", D, 2)),
        r.removed());
    assertEquals(3, r.scanned());
    assertEquals(2, r.listedIds());
  }

  @Test
  void aDateWhoseRunIsInProgressIsRefusedAndNothingIsRemoved() throws Exception {
    Path out = dir.resolve("out");
    table(out, "features", "user_id", "('a')", "('b')");
    Path ids = Files.writeString(dir.resolve("ids.txt"), "a\n");
    PersonasConfig config = config(out, "");
    try (RunLock running = new OutputWriter(spark, out.toString(), D, 1, 1_000_000).lock()) {
      assertThrows(RunLockedException.class, () -> new ForgetRun(spark, config).forget(ids.toString(), "text"));
    }
    assertEquals(List.of("a", "b"), column(out, "features", "user_id"));
  }
}
