package io.github.personas.pipeline.validate;

/**
 * What the suppression list did in a run: how many distinct ids it lists and how many of them
 * matched a user of the run's events or profiles.
 *
 * <p>An id that matched no user is not an error (a person who asked for deletion may not be
 * active), but many of them point at ids written another way than the inputs' (another system's
 * ids, unhashed where the inputs are hashed), which suppress nobody.
 *
 * @param listed  distinct ids on the list, trimmed as the inputs' ids are
 * @param matched those that matched a row of the events or profiles (filtered rows aside)
 */
public record SuppressionCounts(long listed, long matched) {

  /** No list configured. */
  public static final SuppressionCounts NONE = new SuppressionCounts(0, 0);

  /** Listed ids that matched no user of this run's input. */
  public long unmatched() {
    return listed - matched;
  }
}
