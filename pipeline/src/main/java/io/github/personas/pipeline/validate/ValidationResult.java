package io.github.personas.pipeline.validate;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The row-level split of one source: its accepted rows (or their per-user fold) and quarantined rows.
 *
 * @param rows       the accepted rows in contract columns and types, duplicates removed; or,
 *                   when {@code folded}, one row per user of the fold asked for
 * @param quarantine rows that broke the contract, in {@link ContractValidator#QUARANTINE_COLUMNS}
 * @param counts     where every row read went
 * @param byUser     true when {@code rows} are the fold's rows
 * @param suppressionEntries the entries of the suppression list that matched a row (hashes of the
 *                   ids, never written): with the other source's, how many listed ids matched a user
 * @param warnings   what a person should know about the source (folders skipped)
 * @param latestEventTime the latest event_time of the events that passed the contract (copies
 *                   dropped as duplicates included); null for profiles, or when none passed
 */
public record ValidationResult(Dataset<Row> rows, Dataset<Row> quarantine, SourceCounts counts, boolean byUser,
                               java.util.Set<Long> suppressionEntries, java.util.List<String> warnings,
                               java.time.Instant latestEventTime) {

  public ValidationResult {
    suppressionEntries = java.util.Set.copyOf(suppressionEntries);
    warnings = java.util.List.copyOf(warnings);
  }

  /** A result without a latest event time. */
  public ValidationResult(Dataset<Row> rows, Dataset<Row> quarantine, SourceCounts counts, boolean byUser,
                          java.util.Set<Long> suppressionEntries, java.util.List<String> warnings) {
    this(rows, quarantine, counts, byUser, suppressionEntries, warnings, null);
  }

  /** A result no suppression list entry matched, without warnings. */
  public ValidationResult(Dataset<Row> rows, Dataset<Row> quarantine, SourceCounts counts, boolean byUser) {
    this(rows, quarantine, counts, byUser, java.util.Set.of(), java.util.List.of());
  }

  /** This result with {@code more} warnings. */
  public ValidationResult withWarnings(java.util.List<String> more) {
    java.util.List<String> all = new java.util.ArrayList<>(warnings);
    all.addAll(more);
    return new ValidationResult(rows, quarantine, counts, byUser, suppressionEntries, all, latestEventTime);
  }

  /** The accepted rows; only when no fold was asked for. */
  public Dataset<Row> accepted() {
    if (byUser) {
      throw new IllegalStateException("This validation folded the accepted rows: use folded()");
    }
    return rows;
  }

  /** The fold's rows, one per user; only when a fold was asked for. */
  public Dataset<Row> folded() {
    if (!byUser) {
      throw new IllegalStateException("This validation asked for no fold: use accepted()");
    }
    return rows;
  }
}
