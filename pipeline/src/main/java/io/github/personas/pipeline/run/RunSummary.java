package io.github.personas.pipeline.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.personas.pipeline.segment.PersonaClusterer;
import io.github.personas.pipeline.segment.RfmScorer;
import io.github.personas.pipeline.validate.SourceCounts;
import io.github.personas.pipeline.validate.SuppressionCounts;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a run did, built from its stages' results: inputs, where every row went, rows per table,
 * timings, gates, the facts each stage found, and warnings.
 *
 * <p>Written as {@code runs/dt=<date>/summary.json}; schedulers and tests read the same values.
 *
 * @param version         personas version
 * @param runDate         the run date
 * @param stages          the stages asked for
 * @param status          {@code succeeded} or {@code failed_quality_gate}
 * @param configOrigin    the config file (or defaults)
 * @param configHash      SHA-256 of the resolved configuration
 * @param inputs          source name to path
 * @param events          where every event row went; null when not validated
 * @param profiles        where every profile row went; null when not validated
 * @param suppression     the suppression list's ids and how many matched a user; null when not validated
 * @param reports         the stages that ran, in order
 * @param spark           where the run ran
 * @param quarantineShare share of event rows quarantined for breaking the contract; null when not validated
 * @param rfmCutPoints    the RFM cut points used; null when not segmented
 * @param personas        the k chosen and the personas named; null when not segmented
 * @param predict         the purchase and spend models fitted; null when not predicted
 * @param kpis            the population's headline KPIs; null when not reported
 * @param warnings        things a person should look at: the run's, then each stage's
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
    SuppressionCounts suppression,
    List<StageReport> reports,
    SparkFacts spark,
    Double quarantineShare,
    RfmScorer.CutPoints rfmCutPoints,
    PersonaClusterer.Facts personas,
    Map<String, Object> predict,
    Map<String, Object> kpis,
    List<String> warnings) {

  public RunSummary {
    reports = List.copyOf(reports);
    warnings = List.copyOf(warnings);
  }

  /**
   * Where a run ran, so two summaries that differ can be told apart by their setup.
   *
   * @param version            Spark's version
   * @param master             the master URL
   * @param applicationId      the Spark application
   * @param defaultParallelism cores Spark counts on
   * @param shufflePartitions  spark.sql.shuffle.partitions
   */
  public record SparkFacts(String version, String master, String applicationId, int defaultParallelism,
                           String shufflePartitions) {

    /** The facts of a session. */
    public static SparkFacts of(org.apache.spark.sql.SparkSession spark) {
      return new SparkFacts(spark.version(), spark.sparkContext().master(), spark.sparkContext().applicationId(),
          spark.sparkContext().defaultParallelism(), spark.conf().get("spark.sql.shuffle.partitions"));
    }
  }

  /** Output table name to rows written, in the order written. */
  public Map<String, Long> tableRows() {
    Map<String, Long> m = new LinkedHashMap<>();
    reports.forEach(r -> r.tables().forEach(t -> m.put(t.table(), t.rows())));
    return m;
  }

  /** Output name (table, model, report) to where it is published, in the order written. */
  public Map<String, String> outputs() {
    Map<String, String> m = new LinkedHashMap<>();
    for (StageReport r : reports) {
      r.tables().forEach(t -> m.put(t.table(), t.partition()));
      m.putAll(r.files());
    }
    return m;
  }

  /** Stage name to seconds. */
  public Map<String, Double> timingsSeconds() {
    Map<String, Double> m = new LinkedHashMap<>();
    reports.forEach(r -> m.put(r.stage().name().toLowerCase(Locale.ROOT), r.seconds()));
    return m;
  }

  /** Every gate measured, in order. */
  public List<QualityGates.Result> gates() {
    List<QualityGates.Result> g = new ArrayList<>();
    reports.forEach(r -> g.addAll(r.gates()));
    return g;
  }

  /** JSON with snake_case keys, pretty-printed. */
  public String toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("version", version);
    m.put("run_date", runDate);
    m.put("stages", stages);
    m.put("status", status);
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("origin", configOrigin);
    config.put("sha256", configHash);
    m.put("config", config);
    m.put("inputs", inputs);
    Map<String, Object> rec = new LinkedHashMap<>();
    rec.put("events", counts(events));
    rec.put("profiles", counts(profiles));
    m.put("reconciliation", rec);
    if (suppression != null && suppression.listed() > 0) {
      Map<String, Object> sup = new LinkedHashMap<>();
      sup.put("listed_ids", suppression.listed());
      sup.put("matched_users", suppression.matched());
      sup.put("matched_no_user", suppression.unmatched());
      m.put("suppression", sup);
    }
    m.put("table_rows", tableRows());
    m.put("outputs", outputs());
    m.put("timings_s", timingsSeconds());
    Map<String, Object> details = new LinkedHashMap<>();
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("version", spark.version());
    s.put("master", spark.master());
    s.put("application_id", spark.applicationId());
    s.put("default_parallelism", spark.defaultParallelism());
    s.put("shuffle_partitions", spark.shufflePartitions());
    details.put("spark", s);
    if (quarantineShare != null) {
      details.put("quarantine_share", quarantineShare);
    }
    if (!gates().isEmpty()) {
      details.put("quality_gates", gates().stream().map(QualityGates.Result::toMap).toList());
    }
    if (rfmCutPoints != null) {
      Map<String, Object> cuts = new LinkedHashMap<>();
      cuts.put("recency_days", rfmCutPoints.recencyDays());
      cuts.put("frequency", rfmCutPoints.frequency());
      cuts.put("monetary", rfmCutPoints.monetary());
      details.put("rfm_cut_points", cuts);
    }
    if (personas != null) {
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("k", personas.k());
      p.put("silhouette", personas.silhouette());
      p.put("knee", personas.knee());
      p.put("reason", personas.reason());
      p.put("personas", personas.names().size());
      p.put("merged_small_clusters", personas.mergedSmallClusters());
      p.put("matched_previous", personas.matchedPrevious());
      p.put("inputs_left_out", personas.inputsLeftOut());
      p.put("inputs", personas.inputs());
      p.put("names", personas.names());
      details.put("personas", p);
    }
    if (predict != null) {
      details.put("predict", predict);
    }
    if (kpis != null) {
      details.put("kpis", kpis);
    }
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
    m.put("later_days", c.laterDays());
    m.put("quarantined_by_reason", c.byReasonSorted());
    m.put("reconciles", c.reconciles());
    return m;
  }
}
