package io.github.personas.pipeline.config;

import java.util.Map;

/**
 * Where and how one input table (events or profiles) is read and mapped onto the contract.
 *
 * @param name     the source's name: {@code events} or {@code profiles}
 * @param path     file, folder or Hive-partitioned folder; empty means "no such input". It may hold
 *                 {@code ${date}} ({@link PathTemplate}) until {@link #forDate} replaces it
 * @param format   one of {@code parquet}, {@code csv}, {@code json}, {@code text}
 * @param options  reader options passed to Spark as they are
 * @param filter   Spark SQL predicate over source columns; empty keeps every row
 * @param columns  contract column name to Spark SQL expression over source columns
 * @param configKey the config key this source came from, for error messages
 * @param personalColumns source column name to {@code hash} or {@code drop}: personal data that is
 *                 replaced by a salted hash, or removed, right after reading
 * @param datedPath true when the path was written with {@code ${date}} and resolved for the run
 *                 date ({@link #forDate}): every file read is that day's
 * @param holdsLaterDays events only: the source holds days after the run date (one folder of
 *                 every day): rows after the run date in files whose day the layout does not give
 *                 are skipped and counted as later days, not quarantined
 */
public record SourceConfig(
    String name,
    String path,
    String format,
    Map<String, String> options,
    String filter,
    Map<String, String> columns,
    String configKey,
    Map<String, String> personalColumns,
    boolean datedPath,
    boolean holdsLaterDays) {

  public SourceConfig {
    options = Map.copyOf(options);
    columns = Map.copyOf(columns);
    personalColumns = Map.copyOf(personalColumns);
  }

  /** A source whose path is not resolved for a date yet. */
  public SourceConfig(String name, String path, String format, Map<String, String> options, String filter,
                      Map<String, String> columns, String configKey, Map<String, String> personalColumns) {
    this(name, path, format, options, filter, columns, configKey, personalColumns, false, false);
  }

  /** A source without personal columns. */
  public SourceConfig(String name, String path, String format, Map<String, String> options, String filter,
                      Map<String, String> columns, String configKey) {
    this(name, path, format, options, filter, columns, configKey, Map.of());
  }

  /** True when a path is configured. */
  public boolean isPresent() {
    return path != null && !path.isBlank();
  }

  /** Copy with another path (the CLI's --events / --profiles). */
  public SourceConfig withPath(String newPath) {
    return new SourceConfig(name, newPath, format, options, filter, columns, configKey, personalColumns, false,
        holdsLaterDays);
  }

  /**
   * This source for one run date: {@code ${date}} in the path replaced by {@code date}; the same
   * source when the path has no placeholder.
   */
  public SourceConfig forDate(java.time.LocalDate date) {
    if (!PathTemplate.isDated(path)) {
      return this;
    }
    return new SourceConfig(name, PathTemplate.resolve(path, date), format, options, filter, columns, configKey,
        personalColumns, true, holdsLaterDays);
  }
}
