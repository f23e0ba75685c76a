package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

class HoldoutAssignerTest {

  private final SparkSession spark = SparkTestSession.get();

  private Dataset<Row> users(int partitions) {
    return spark.range(0, 100_000, 1, partitions).selectExpr("concat('u', id) AS user_id");
  }

  private static List<String> holdout(Dataset<Row> assigned) {
    return assigned.where("holdout").orderBy("user_id").select("user_id").as(org.apache.spark.sql.Encoders.STRING())
        .collectAsList();
  }

  @Test
  void shareIsCloseToTheConfiguredShare() {
    long in = new HoldoutAssigner(new PersonasConfig.Holdout(0.1, "s1")).apply(users(4)).where("holdout").count();
    assertEquals(0.1, in / 100_000.0, 0.005, "binomial sd is 0.00095; 5 sd is 0.005");
  }

  @Test
  void membershipIsStableAcrossRunsAndPartitionings() {
    HoldoutAssigner a = new HoldoutAssigner(new PersonasConfig.Holdout(0.1, "s1"));
    assertEquals(holdout(a.apply(users(1))), holdout(a.apply(users(7))));
  }

  @Test
  void aLargerShareOnlyAddsUsersAndAnotherSaltDrawsAnotherGroup() {
    List<String> ten = holdout(new HoldoutAssigner(new PersonasConfig.Holdout(0.1, "s1")).apply(users(2)));
    List<String> twenty = holdout(new HoldoutAssigner(new PersonasConfig.Holdout(0.2, "s1")).apply(users(2)));
    List<String> other = holdout(new HoldoutAssigner(new PersonasConfig.Holdout(0.1, "s2")).apply(users(2)));
    assertTrue(twenty.containsAll(ten));
    long overlap = other.stream().filter(new java.util.HashSet<>(ten)::contains).count();
    assertEquals(0.1 * ten.size(), overlap, 0.02 * ten.size(), "independent draws overlap by about the share");
  }
}
