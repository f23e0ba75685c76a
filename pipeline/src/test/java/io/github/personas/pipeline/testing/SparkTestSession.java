package io.github.personas.pipeline.testing;

import org.apache.spark.sql.SparkSession;

/** One local SparkSession for the whole test JVM: starting Spark is the slowest part of a test. */
public final class SparkTestSession {

  private static SparkSession spark;

  private SparkTestSession() {}

  /** The shared session: local[2], no UI, UTC, few shuffle partitions for small inline data. */
  public static synchronized SparkSession get() {
    if (spark == null) {
      spark = SparkSession.builder()
          .master("local[2]")
          .appName("personas-tests")
          .config("spark.ui.enabled", "false")
          .config("spark.sql.shuffle.partitions", "2")
          .config("spark.default.parallelism", "2")
          .config("spark.sql.session.timeZone", "UTC")
          .config("spark.driver.host", "127.0.0.1")
          .config("spark.ui.showConsoleProgress", "false")
          .getOrCreate();
    }
    return spark;
  }
}
