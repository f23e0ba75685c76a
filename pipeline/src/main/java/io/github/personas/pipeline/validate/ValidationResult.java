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
 */
public record ValidationResult(Dataset<Row> rows, Dataset<Row> quarantine, SourceCounts counts, boolean byUser) {

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
