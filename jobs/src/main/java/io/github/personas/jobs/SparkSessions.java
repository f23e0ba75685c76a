package io.github.personas.jobs;

import org.apache.spark.sql.SparkSession;

/**
 * Builds the SparkSession: whatever spark-submit configured, or local mode with laptop defaults.
 *
 * <p>Under spark-submit the master and every {@code spark.*} setting come from spark-submit;
 * only when nothing chose a master do we pick {@code local[*]} and a few local defaults.
 */
public final class SparkSessions {

  private SparkSessions() {}

  /** True when spark-submit (or the user, via -Dspark.master) chose the master. */
  public static boolean launchedBySparkSubmit() {
    return System.getProperty("spark.master") != null;
  }

  /**
   * @param appName shown in the Spark UI and the cluster manager
   * @param master  --master, or null to let spark-submit decide (local[*] when not submitted)
   */
  public static SparkSession create(String appName, String master) {
    SparkSession.Builder b = SparkSession.builder().appName(appName);
    if (master != null) {
      b = b.master(master);
    }
    if (master != null ? master.startsWith("local") : !launchedBySparkSubmit()) {
      if (master == null) {
        b = b.master("local[*]");
      }
      // Local-mode defaults only; a cluster run takes its settings from spark-submit.
      b = b.config("spark.sql.shuffle.partitions", String.valueOf(Math.max(4, 4 * Runtime.getRuntime().availableProcessors())))
          .config("spark.ui.showConsoleProgress", "false")
          .config("spark.sql.session.timeZone", "UTC");
    }
    return b.getOrCreate();
  }
}
