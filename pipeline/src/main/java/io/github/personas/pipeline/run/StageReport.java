package io.github.personas.pipeline.run;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one stage did: the tables and files it wrote, how long it took, what a person should look
 * at, and the data-quality gates it measured.
 *
 * @param stage    the stage
 * @param seconds  wall-clock seconds
 * @param tables   the table partitions written, in order
 * @param files    other outputs (the persona model, the reports) by name, to where they are published
 * @param warnings things a person should look at
 * @param gates    the gates measured, passed or not
 */
public record StageReport(Stage stage, double seconds, List<TableWrite> tables, Map<String, String> files,
                          List<String> warnings, List<QualityGates.Result> gates) {

  public StageReport {
    tables = List.copyOf(tables);
    files = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(files));
    warnings = List.copyOf(warnings);
    gates = List.copyOf(gates);
  }

  /**
   * One table partition written.
   *
   * @param table     the table
   * @param rows      rows written
   * @param partition where it is published
   */
  public record TableWrite(String table, long rows, String partition) {}

  /** The first gate that failed, if one did: the run stops after this stage. */
  public Optional<QualityGates.Result> failedGate() {
    return gates.stream().filter(g -> g.status() == QualityGates.Status.FAILED).findFirst();
  }
}
