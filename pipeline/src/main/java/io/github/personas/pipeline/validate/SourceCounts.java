package io.github.personas.pipeline.validate;

import java.util.Map;
import java.util.TreeMap;

/**
 * Where every row read from one source went; {@link #reconciles()} proves none vanished.
 *
 * @param source       {@code events} or {@code profiles}
 * @param read         rows read from the source files (after partition pruning)
 * @param filtered     rows the configured filter left out
 * @param accepted     rows passed on to the features stage
 * @param quarantined  rows written to the quarantine table
 * @param duplicates   rows dropped because their dedup key was already accepted
 * @param byReason     quarantined rows per reason code
 * @param suppressed   rows of users on the suppression list, removed before anything is written
 * @param laterDays    rows after the run date in a source that holds later days
 *                     ({@code holds_later_days}): not this date's rows, skipped
 */
public record SourceCounts(
    String source, long read, long filtered, long accepted, long quarantined, long duplicates,
    Map<String, Long> byReason, long suppressed, long laterDays) {

  public SourceCounts {
    byReason = Map.copyOf(byReason);
  }

  /** Counts of a source without later days. */
  public SourceCounts(String source, long read, long filtered, long accepted, long quarantined, long duplicates,
                      Map<String, Long> byReason, long suppressed) {
    this(source, read, filtered, accepted, quarantined, duplicates, byReason, suppressed, 0);
  }

  /** Counts without suppressed rows. */
  public SourceCounts(String source, long read, long filtered, long accepted, long quarantined, long duplicates,
                      Map<String, Long> byReason) {
    this(source, read, filtered, accepted, quarantined, duplicates, byReason, 0);
  }

  /** Counts of a source that was not configured. */
  public static SourceCounts absent(String source) {
    return new SourceCounts(source, 0, 0, 0, 0, 0, Map.of());
  }

  /** read = filtered + accepted + quarantined + duplicates + suppressed + later days. */
  public boolean reconciles() {
    return read == filtered + accepted + quarantined + duplicates + suppressed + laterDays;
  }

  /**
   * Rows of the run date and before: what the shares of the data-quality gates are of, as if the
   * later days had not been read (as later {@code dt=} partitions are not).
   */
  public long inScope() {
    return read - laterDays;
  }

  /** The reasons sorted by name, for stable summaries. */
  public Map<String, Long> byReasonSorted() {
    return new TreeMap<>(byReason);
  }
}
