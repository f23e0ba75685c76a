package io.github.personas.pipeline.validate;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The row-level split of one source: contract-typed accepted rows and quarantined rows.
 *
 * @param accepted   rows in contract columns and types, duplicates removed
 * @param quarantine rows that broke the contract, in {@link ContractValidator#QUARANTINE_COLUMNS}
 * @param counts     where every row read went
 * @param folded     the merged states of a {@link RowFold} over the accepted rows (key string, state
 *                   binary; one row per key), or null when no fold was asked for or keys repeated
 */
public record ValidationResult(Dataset<Row> accepted, Dataset<Row> quarantine, SourceCounts counts,
                               Dataset<Row> folded) {

  /** Without a fold. */
  public ValidationResult(Dataset<Row> accepted, Dataset<Row> quarantine, SourceCounts counts) {
    this(accepted, quarantine, counts, null);
  }
}
