package io.github.personas.pipeline.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.personas.pipeline.validate.SourceCounts;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a run did: inputs, counts and reconciliation per source, rows per table, timings.
 *
 * <p>Written as {@code runs/dt=<date>/summary.json}; schedulers and tests read the same values.
 *
 * @param version       personas version
 * @param runDate       the run date
 * @param stages        the stages that ran
 * @param status        {@code succeeded} or {@code failed_quality_gate}
 * @param configOrigin  the config file (or defaults)
 * @param configHash    SHA-256 of the resolved configuration
 * @param inputs        source name to path
 * @param events        where every event row went
 * @param profiles      where every profile row went
 * @param tableRows     output table name to rows written
 * @param outputs       output table name to the partition written
 * @param timingsSeconds stage name to seconds
 * @param details       stage-specific facts (chosen k, RFM cut points...)
 * @param warnings      things a person should look at
 */
public record RunSummary(
    String version,
    String runDate,
    List<String> stages,
    String status,
    String configOrigin,
    String configHash,
    Map<String, String> inputs,
    SourceCounts events,
    SourceCounts profiles,
    Map<String, Long> tableRows,
    Map<String, String> outputs,
    Map<String, Double> timingsSeconds,
    Map<String, Object> details,
    List<String> warnings) {

  /** JSON with snake_case keys, pretty-printed. */
  public String toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("version", version);
    m.put("run_date", runDate);
    m.put("stages", stages);
    m.put("status", status);
    m.put("config", Map.of("origin", configOrigin, "sha256", configHash));
    m.put("inputs", inputs);
    Map<String, Object> rec = new LinkedHashMap<>();
    rec.put("events", counts(events));
    rec.put("profiles", counts(profiles));
    m.put("reconciliation", rec);
    m.put("table_rows", tableRows);
    m.put("outputs", outputs);
    m.put("timings_s", timingsSeconds);
    m.put("details", details);
    m.put("warnings", warnings);
    return toJson(m);
  }

  /** Pretty-printed JSON of plain maps, lists, strings and numbers. */
  public static String toJson(Map<String, Object> m) {
    try {
      return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Summary is plain maps and numbers", e);
    }
  }

  private static Map<String, Object> counts(SourceCounts c) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (c == null) {
      return m;
    }
    m.put("read", c.read());
    m.put("filtered", c.filtered());
    m.put("accepted", c.accepted());
    m.put("quarantined", c.quarantined());
    m.put("duplicates", c.duplicates());
    m.put("suppressed", c.suppressed());
    m.put("quarantined_by_reason", c.byReasonSorted());
    m.put("reconciles", c.reconciles());
    return m;
  }
}
