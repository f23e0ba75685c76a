package io.github.personas.pipeline.run;

/** The stages of a nightly run, in order; a CLI command runs a contiguous subset. */
public enum Stage {
  /** Read inputs, check the contract, write quarantine, apply the data-quality gates. */
  VALIDATE,
  /** Build the features table from validated inputs. */
  FEATURES,
  /** RFM scores and segments, k-means personas. */
  SEGMENT,
  /** KPI tables per segment. */
  REPORT;

  /** Spark job group id of the stage, shown in the Spark UI. */
  public String jobGroup() {
    return "personas-" + name().toLowerCase(java.util.Locale.ROOT);
  }
}
