package io.github.personas.jobs;

import java.util.Map;
import org.apache.spark.SparkConf;
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
      // Local-mode defaults only, and only where nobody chose (-Dspark.* or spark-defaults via
      // spark-submit): a cluster run takes every setting from spark-submit.
      SparkConf chosen = new SparkConf();
      Map<String, String> defaults = Map.of(
          "spark.sql.shuffle.partitions", String.valueOf(Math.max(4, 4 * Runtime.getRuntime().availableProcessors())),
          "spark.ui.showConsoleProgress", "false",
          "spark.sql.session.timeZone", "UTC");
      for (Map.Entry<String, String> d : defaults.entrySet()) {
        if (!chosen.contains(d.getKey())) {
          b = b.config(d.getKey(), d.getValue());
        }
      }
    }
    return b.getOrCreate();
  }
}
