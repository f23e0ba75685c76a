package io.github.personas.pipeline.run;

/**
 * A data-quality gate failed: the input is readable but not good enough to publish from.
 *
 * <p>The CLI maps it to exit code 3, so a scheduler can tell bad data from a broken job.
 */
public class DataQualityException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String gate;

  /**
   * @param gate    the config key of the gate, e.g. personas.quality.max_quarantine_share
   * @param message what was measured against what limit
   */
  public DataQualityException(String gate, String message) {
    super(message);
    this.gate = gate;
  }

  /** The config key of the gate that failed. */
  public String gate() {
    return gate;
  }
}
