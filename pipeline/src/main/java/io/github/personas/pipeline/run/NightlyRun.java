package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.features.FeatureBuilder;
import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.engine.Fold;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.report.Kpi;
import io.github.personas.pipeline.report.ReportData;
import io.github.personas.pipeline.report.RunReport;
import io.github.personas.pipeline.report.SegmentKpis;
import io.github.personas.pipeline.report.SegmentTransitions;
import io.github.personas.pipeline.io.Contract;
import io.github.personas.pipeline.segment.HoldoutAssigner;
import io.github.personas.pipeline.segment.LifecycleStager;
import io.github.personas.pipeline.segment.PersonaClusterer;
import io.github.personas.pipeline.segment.RfmScorer;
import io.github.personas.pipeline.validate.ContractValidator;
import io.github.personas.pipeline.validate.SourceCounts;
import io.github.personas.pipeline.validate.ValidationResult;
import java.io.IOException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * One nightly run for one date: the configured stages in order, each writing its tables.
 *
 * <p>Stages that did not run in this call read their inputs from the output folder, so
 * {@code features}, {@code segment} and {@code report} can also be run one at a time.
 */
public final class NightlyRun {

  private static final Logger LOG = LogManager.getLogger(NightlyRun.class);
  private static final String SESSION_TZ = "spark.sql.session.timeZone";

  private final SparkSession spark;
  private final PersonasConfig config;
  private final LocalDate date;
  private final OutputWriter out;

  private final Map<String, Long> tableRows = new LinkedHashMap<>();
  private final Map<String, String> outputs = new LinkedHashMap<>();
  private final Map<String, Double> timings = new LinkedHashMap<>();
  private final Map<String, Object> details = new LinkedHashMap<>();
  private final List<String> warnings = new ArrayList<>();
  private final List<Map<String, Object>> gateResults = new ArrayList<>();
  private final QualityGates gates;
  private SourceCounts eventCounts;
  private SourceCounts profileCounts;
  /**
   * The validator and feature builder of this run. Their caches are released only when the run
   * ends: Spark drops the cached data of every plan built on a cache that is unpersisted, so
   * releasing them once the features were cached threw the features away and computed them
   * again from the shuffle files (in as few tasks as the features table has files).
   */
  private final Caches caches = new Caches();
  /** The segments of this run with every feature beside them, for the report; null until segmented. */
  private Dataset<Row> segmentedUsers;

  /**
   * @param spark  the session (local or cluster; its configuration is left as given)
   * @param config validated configuration
   * @param date   the run date D: events up to the end of D, UTC
   */
  public NightlyRun(SparkSession spark, PersonasConfig config, LocalDate date) {
    this.spark = Objects.requireNonNull(spark, "spark");
    this.config = Objects.requireNonNull(config, "config");
    this.date = Objects.requireNonNull(date, "date");
    this.out = new OutputWriter(spark, config.outputPath(), date, config.filesPerPartition(), config.rowsPerFile());
    this.gates = new QualityGates(config.quality());
  }

  /** The personas version from the jar manifest, or "dev" when run from classes. */
  public static String version() {
    String v = NightlyRun.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  /**
   * Runs {@code stages} in order and writes the summary.
   *
   * @return the summary, also written to {@code runs/dt=<date>/summary.json}
   * @throws DataQualityException when a gate fails (the summary is written first)
   * @throws io.github.personas.pipeline.config.ConfigException on input or rule errors
   */
  public RunSummary execute(Set<Stage> stages) {
    if (stages.isEmpty()) {
      throw new IllegalArgumentException("No stage to run");
    }
    try {
      return run(EnumSet.copyOf(stages));
    } catch (ConfigException e) {
      // Rule and mapping checks know their key; the person fixing it also needs the file.
      throw e.in(config.origin());
    }
  }

  private RunSummary run(EnumSet<Stage> todo) {
    pinSessionTimeZone();
    recordSpark();
    RfmScorer rfm = new RfmScorer(config.rfm());
    LifecycleStager lifecycle = new LifecycleStager(config.lifecycle());
    if (todo.contains(Stage.SEGMENT)) {
      // Checked before any data is read: a broken rule table should cost seconds, not a run.
      rfm.checkTable(spark);
      Dataset<Row> empty = emptyFeatures();
      lifecycle.checkRules(empty);
      new PersonaClusterer(config.personas()).checkConfig(empty);
    }
    String status = "succeeded";
    out.beginStaging();
    try {
      Dataset<Row> features = null;
      ValidationResult events = null;
      ValidationResult profiles = null;
      if (todo.contains(Stage.VALIDATE)) {
        // With features to follow, they are folded in the validation pass: events are read once.
        Fold<?> fold = todo.contains(Stage.FEATURES) ? featureBuilder().fold(spark) : null;
        ValidationResult[] v = timed(Stage.VALIDATE, () -> validate(fold));
        events = v[0];
        profiles = v[1];
      }
      if (todo.contains(Stage.FEATURES)) {
        ValidationResult ev = Objects.requireNonNull(events, "FEATURES needs VALIDATE in the same run");
        ValidationResult pr = profiles;
        features = timed(Stage.FEATURES, () -> features(ev, pr));
      }
      Dataset<Row> segments = null;
      if (todo.contains(Stage.SEGMENT)) {
        Dataset<Row> f = features != null ? features : out.read(OutputWriter.FEATURES);
        features = f;
        segments = timed(Stage.SEGMENT, () -> segment(f, rfm, lifecycle));
      }
      if (todo.contains(Stage.REPORT)) {
        Dataset<Row> f = features != null ? features : out.read(OutputWriter.FEATURES);
        Dataset<Row> s = segments != null ? segments : out.read(OutputWriter.SEGMENTS);
        timed(Stage.REPORT, () -> report(segmentedUsers != null ? segmentedUsers
            : reportUsers(s, f).persist(StorageLevel.MEMORY_AND_DISK())));
      }
    } catch (DataQualityException e) {
      status = "failed_quality_gate";
      warnings.add(e.getMessage());
      writeSummary(todo, status);
      // Only the evidence is published: the quarantined rows and the summary naming the gate.
      out.publish(List.of(OutputWriter.QUARANTINE, OutputWriter.RUNS));
      throw e;
    } catch (RuntimeException | Error e) {
      out.abandon();
      throw e;
    } finally {
      releaseCaches();
    }
    RunSummary summary = writeSummary(todo, status);
    out.publish(null);
    return summary;
  }

  private ValidationResult[] validate(Fold<?> fold) {
    ContractValidator validator = new ContractValidator(spark, date, config.privacy(), caches);
    ValidationResult events = validator.events(config.events(), fold);
    ValidationResult profiles = validator.profiles(config.profiles());
    eventCounts = events.counts();
    profileCounts = profiles.counts();
    Dataset<Row> quarantine = events.quarantine().unionByName(profiles.quarantine());
    write(OutputWriter.QUARANTINE, quarantine, eventCounts.quarantined() + profileCounts.quarantined());
    checkGates(eventCounts);
    return new ValidationResult[] {events, profiles};
  }

  private void checkGates(SourceCounts ev) {
    long late = ev.byReason().getOrDefault(ContractValidator.EVENT_AFTER_RUN_DATE, 0L);
    details.put("quarantine_share", ev.read() == 0 ? 0.0 : (double) (ev.quarantined() - late) / ev.read());
    if (late > 0) {
      warnings.add(String.format("%d events are later than the run date %s and were quarantined as %s",
          late, date, ContractValidator.EVENT_AFTER_RUN_DATE));
    }
    gate(gates.onEvents(ev, config.events().path()).toArray(QualityGates.Result[]::new));
  }

  private void releaseCaches() {
    caches.close();
  }

  /** Records the results in the summary; a near miss is a warning, the first failure stops the run. */
  private void gate(QualityGates.Result... results) {
    QualityGates.Result failed = null;
    for (QualityGates.Result r : results) {
      gateResults.add(r.toMap());
      LOG.info(r.message());
      if (r.status() == QualityGates.Status.WARNING) {
        warnings.add(r.message());
      } else if (r.status() == QualityGates.Status.FAILED && failed == null) {
        failed = r;
      }
    }
    details.put("quality_gates", List.copyOf(gateResults));
    if (failed != null) {
      String where = failed.gate().equals(QualityGates.MIN_USERS) ? ""
          : "; quarantined rows are in " + out.partition(OutputWriter.QUARANTINE);
      throw new DataQualityException(failed.gate(), failed.message() + where);
    }
  }

  private Dataset<Row> features(ValidationResult events, ValidationResult profiles) {
    FeatureBuilder builder = featureBuilder();
    Dataset<Row> features = caches.persist(events.byUser()
        ? builder.fromFolded(events.folded(), profiles.accepted(), caches)
        : builder.apply(events.accepted(), profiles.accepted(), caches));
    long users = features.count();
    write(OutputWriter.FEATURES, features, users);
    gate(gates.onUsers(users));
    return features;
  }

  private FeatureBuilder featureBuilder() {
    return new FeatureBuilder(date, config.timezone(), config.sessionWindows());
  }

  private Dataset<Row> emptyFeatures() {
    return featureBuilder().empty(spark);
  }

  private Dataset<Row> segment(Dataset<Row> features, RfmScorer rfm, LifecycleStager lifecycle) {
    Dataset<Row> scored = new HoldoutAssigner(config.holdout()).apply(lifecycle.apply(rfm.apply(features)));
    double[][] cuts = rfm.lastCutPoints();
    details.put("rfm_cut_points", Map.of("recency_days", cuts[0], "frequency", cuts[1], "monetary", cuts[2]));
    PersonaClusterer clusterer = new PersonaClusterer(config.personas());
    PersonaClusterer.Result result = clusterer.apply(scored, previousPersonas());
    // Only the segment columns are cached. The report reads the segments with the features beside
    // them straight from the clusterer's output, whose input (every feature) is cached already:
    // joining the segments back to the features cost the report ~10 s at 500k users, and caching
    // the wide rows again cost 5 s more than these columns.
    Dataset<Row> segments = result.assigned().select("user_id", RfmScorer.R_SCORE, RfmScorer.F_SCORE, RfmScorer.M_SCORE,
        RfmScorer.RFM_SEGMENT, LifecycleStager.LIFECYCLE_STAGE, PersonaClusterer.PERSONA_ID,
        PersonaClusterer.PERSONA_NAME, PersonaClusterer.DISTANCE, HoldoutAssigner.HOLDOUT)
        .persist(StorageLevel.MEMORY_AND_DISK());
    long users = segments.count();
    segmentedUsers = reportUsers(segments, features, result.assigned());
    write(OutputWriter.SEGMENTS, segments, users);
    List<Row> personaRows = result.personas().collectAsList();
    write(OutputWriter.PERSONAS, result.personas(), personaRows.size());
    write(OutputWriter.K_SELECTION, result.kSelection(), result.kSelection().count());
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("k", result.choice().k());
    p.put("silhouette", Double.isNaN(result.silhouette()) ? null : result.silhouette());
    p.put("knee", result.choice().knee() > 0 ? result.choice().knee() : null);
    p.put("reason", result.choice().reason());
    p.put("personas", personaRows.size());
    p.put("merged_small_clusters", result.merged());
    p.put("matched_previous", result.matched());
    Map<String, String> named = new LinkedHashMap<>();
    for (Row r : personaRows) {
      named.put(r.getString(0), r.getString(1));
    }
    p.put("names", named);
    details.put("personas", p);
    LOG.info("Personas: {}", result.choice().reason());
    if (result.model() != null) {
      String modelPath = out.writePath(OutputWriter.MODELS) + "/persona_model";
      try {
        result.model().write().overwrite().save(modelPath);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("Cannot save the persona model to " + modelPath, e);
      }
      outputs.put("persona_model", out.partition(OutputWriter.MODELS) + "/persona_model");
    }
    return segments;
  }

  /** The latest earlier run's personas and k, for stable ids; none on a first run. */
  private PersonaClusterer.Previous previousPersonas() {
    java.util.Optional<LocalDate> prev = out.previousDate(OutputWriter.PERSONAS);
    if (prev.isEmpty()) {
      LOG.info("No earlier personas under {}: persona ids start at P01", config.outputPath());
      return PersonaClusterer.Previous.NONE;
    }
    List<PersonaClusterer.PreviousPersona> personas = new ArrayList<>();
    Dataset<Row> table = out.read(OutputWriter.PERSONAS, prev.get());
    if (!List.of(table.columns()).containsAll(List.of("persona_name", "centroid_transformed"))) {
      warnings.add("The personas of " + prev.get() + " predate stable ids (no centroid_transformed column);"
          + " every persona gets a new id");
    } else {
      for (Row r : table.select("persona_id", "persona_name", "centroid_transformed").collectAsList()) {
        personas.add(new PersonaClusterer.PreviousPersona(r.getString(0), r.getString(1),
            scala.jdk.javaapi.CollectionConverters.asJava(r.<String, Double>getMap(2))));
      }
    }
    int maxId = out.readBefore(OutputWriter.PERSONAS).select("persona_id").distinct().collectAsList().stream()
        .mapToInt(r -> PersonaClusterer.idNumber(r.getString(0))).max().orElse(0);
    int previousK = -1;
    if (out.previousDate(OutputWriter.K_SELECTION).filter(prev.get()::equals).isPresent()) {
      previousK = out.read(OutputWriter.K_SELECTION, prev.get()).where("chosen").select("k").collectAsList().stream()
          .mapToInt(r -> r.getInt(0)).findFirst().orElse(-1);
    }
    LOG.info("Previous run {}: {} personas, k = {}, highest persona number so far {}", prev.get(), personas.size(),
        previousK, maxId);
    return new PersonaClusterer.Previous(prev.get().toString(), personas, previousK, maxId);
  }

  /** @param users {@link #reportUsers}, cached; released at the end */
  private Void report(Dataset<Row> users) {
    PersonasConfig.Report rc = config.report();
    SegmentKpis.Result r = new SegmentKpis(rc.dimensions(), Kpi.defaults(rc.dormantStages()), rc.significanceLevel())
        .apply(users);
    write(OutputWriter.SEGMENT_KPIS, r.kpis(), r.kpis().count());
    write(OutputWriter.HOLDOUT_UPLIFT, r.holdoutUplift(), r.holdoutUplift().count());
    details.put("kpis", r.population());

    java.util.Optional<LocalDate> prev = out.previousDate(OutputWriter.SEGMENTS);
    Dataset<Row> previous = null;
    if (prev.isPresent()) {
      try {
        previous = reportUsers(out.read(OutputWriter.SEGMENTS, prev.get()), out.read(OutputWriter.FEATURES, prev.get()));
        List<String> previousColumns = List.of(previous.columns());
        List<String> missing = rc.dimensions().stream().filter(d -> !previousColumns.contains(d)).toList();
        if (!missing.isEmpty()) {
          warnings.add("The run of " + prev.get() + " has no column " + missing + ": no transitions from it");
          previous = null;
        }
      } catch (Exception e) {
        warnings.add("Cannot read the previous run " + prev.get() + " for transitions: "
            + ConfigException.firstLine(e));
        previous = null;
      }
    }
    Dataset<Row> transitions = new SegmentTransitions(rc.dimensions()).apply(users, previous,
        previous == null ? null : prev.get().toString());
    write(OutputWriter.SEGMENT_TRANSITIONS, transitions.persist(StorageLevel.MEMORY_AND_DISK()), transitions.count());

    Dataset<Row> history = history(r.kpis()).persist(StorageLevel.MEMORY_AND_DISK());
    write(OutputWriter.SEGMENT_HISTORY, history, history.count());

    ReportData data = reportData(r, transitions, history);
    // Only now: unpersisting users drops the cached transitions and history built on it.
    users.unpersist();
    RunReport report = new RunReport(data);
    outputs.put("report.md", out.writeText(OutputWriter.RUNS, "report.md", report.markdown()));
    outputs.put("report.html", out.writeText(OutputWriter.RUNS, "report.html", report.html()));
    return null;
  }

  /** The small, driver-side view of this run's tables that report.md and report.html show. */
  private ReportData reportData(SegmentKpis.Result r, Dataset<Row> transitions, Dataset<Row> history) {
    List<ReportData.SegmentRow> segments = new ArrayList<>();
    for (Row k : r.kpis().collectAsList()) {
      segments.add(new ReportData.SegmentRow(k.getAs("dimension"), k.getAs("segment"), k.<Long>getAs("users"),
          k.<Double>getAs("share"), k.getAs("conversion_rate"), k.getAs("conversion_rate_lift"),
          k.<Boolean>getAs("conversion_rate_significant"), k.getAs("arpu"), k.getAs("arpu_lift"),
          k.<Boolean>getAs("arpu_significant"), k.getAs("active_rate_30d")));
    }
    List<ReportData.PersonaCard> cards = new ArrayList<>();
    for (Row p : out.read(OutputWriter.PERSONAS).orderBy("persona_id").collectAsList()) {
      List<String> traits = new ArrayList<>(p.<String>getList(p.fieldIndex("traits")));
      traits.add(String.format("Goal: %s. Channel: %s. %s.", p.getAs("goal"), p.getAs("channel"), p.getAs("strategy")));
      cards.add(new ReportData.PersonaCard(p.getAs("persona_id"), p.getAs("persona_name"), p.<Long>getAs("users"),
          p.<Double>getAs("share"), traits));
    }
    List<ReportData.KPoint> curve = new ArrayList<>();
    String reason = "";
    for (Row k : out.read(OutputWriter.K_SELECTION).orderBy("k").collectAsList()) {
      curve.add(new ReportData.KPoint(k.<Integer>getAs("k"), k.<Double>getAs("cost"), k.<Double>getAs("silhouette"),
          k.<Boolean>getAs("chosen")));
      reason = k.getAs("reason");
    }
    List<ReportData.Transition> moves = new ArrayList<>();
    for (Row t : transitions.where("dimension = 'persona_id' AND previous_date IS NOT NULL").collectAsList()) {
      moves.add(new ReportData.Transition(t.getAs("from_segment"), t.getAs("to_segment"), t.<Long>getAs("users")));
    }
    List<ReportData.HistoryPoint> trend = new ArrayList<>();
    for (Row h : history.where("dimension = 'persona_id'").orderBy("run_date", "segment").collectAsList()) {
      trend.add(new ReportData.HistoryPoint(h.getAs("run_date"), h.getAs("segment"), h.<Long>getAs("users")));
    }
    List<ReportData.QualityRow> quality = new ArrayList<>();
    for (SourceCounts c : new SourceCounts[] {eventCounts, profileCounts}) {
      if (c == null || c.read() == 0) {
        continue;
      }
      String source = c == eventCounts ? "events" : "profiles";
      quality.add(new ReportData.QualityRow(source, "read", c.read()));
      quality.add(new ReportData.QualityRow(source, "accepted", c.accepted()));
      c.byReasonSorted().forEach((reasonCode, n) -> quality.add(
          new ReportData.QualityRow(source, "quarantined: " + reasonCode, n)));
      quality.add(new ReportData.QualityRow(source, "duplicates", c.duplicates()));
      quality.add(new ReportData.QualityRow(source, "filtered", c.filtered()));
      quality.add(new ReportData.QualityRow(source, "suppressed", c.suppressed()));
    }
    return new ReportData(date.toString(), version(), r.population(), segments, cards, curve, reason, moves, trend,
        quality);
  }

  /** Segments with the features the KPIs and profile dimensions need, one row per user. */
  private static Dataset<Row> reportUsers(Dataset<Row> segments, Dataset<Row> features) {
    List<String> cols = new ArrayList<>(List.of("user_id"));
    cols.addAll(featuresBesides(segments, features));
    return segments.join(features.select(cols.stream().map(features::col).toArray(org.apache.spark.sql.Column[]::new)),
        "user_id");
  }

  /**
   * The same columns as {@link #reportUsers(Dataset, Dataset)} without a join, from rows that
   * already carry the segment columns and every feature (the clusterer's output).
   */
  private static Dataset<Row> reportUsers(Dataset<Row> segments, Dataset<Row> features, Dataset<Row> assigned) {
    List<String> cols = new ArrayList<>(List.of(segments.columns()));
    cols.addAll(featuresBesides(segments, features));
    return assigned.select(cols.stream().map(assigned::col).toArray(org.apache.spark.sql.Column[]::new));
  }

  /** The features' columns that the segments do not have, in the features' order. */
  private static List<String> featuresBesides(Dataset<Row> segments, Dataset<Row> features) {
    List<String> segmentCols = List.of(segments.columns());
    return java.util.Arrays.stream(features.columns()).filter(c -> !segmentCols.contains(c)).toList();
  }

  /** Size and headline KPIs of every segment on every date so far, for trend charts. */
  private Dataset<Row> history(Dataset<Row> todayKpis) {
    String[] cols = {"dimension", "segment", "users", "share", "conversion_rate", "arpu", "revenue"};
    Dataset<Row> today = todayKpis.withColumn("run_date", org.apache.spark.sql.functions.lit(date.toString()))
        .select("run_date", cols);
    if (out.previousDate(OutputWriter.SEGMENT_KPIS).isEmpty()) {
      return today;
    }
    Dataset<Row> all = out.readBefore(OutputWriter.SEGMENT_KPIS);
    Dataset<Row> earlier = all.withColumn("run_date", all.col("dt").cast("string"))
        .select("run_date", cols);
    return earlier.unionByName(today).orderBy("run_date", "dimension", "segment");
  }

  private void write(String table, Dataset<Row> df, long rows) {
    long t0 = System.nanoTime();
    out.write(table, df, rows);
    tableRows.put(table, rows);
    outputs.put(table, out.partition(table));
    LOG.info("Wrote {} rows to {} in {} s", rows, out.partition(table), seconds(t0));
  }

  private <T> T timed(Stage stage, Supplier<T> body) {
    spark.sparkContext().setJobGroup(stage.jobGroup(), "personas " + stage + " for " + date, false);
    LOG.info("Stage {} for {} started", stage, date);
    long t0 = System.nanoTime();
    try {
      return body.get();
    } finally {
      double s = seconds(t0);
      timings.put(stage.name().toLowerCase(java.util.Locale.ROOT), s);
      LOG.info("Stage {} finished in {} s", stage, s);
      spark.sparkContext().clearJobGroup();
    }
  }

  private RunSummary writeSummary(Set<Stage> stages, String status) {
    Map<String, String> inputs = new LinkedHashMap<>();
    inputs.put("events", config.events().path());
    inputs.put("profiles", config.profiles().isPresent() ? config.profiles().path() : "");
    RunSummary summary = new RunSummary(version(), date.toString(), stages.stream().map(Enum::name).toList(), status,
        config.origin(), config.hash(), inputs, eventCounts, profileCounts, tableRows, outputs, timings, details,
        warnings);
    String path = out.writeText(OutputWriter.RUNS, "summary.json", summary.toJson());
    LOG.info("Run summary: {}", path);
    return summary;
  }

  /** Where the run ran, so two summaries that differ can be told apart by their setup. */
  private void recordSpark() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("version", spark.version());
    s.put("master", spark.sparkContext().master());
    s.put("application_id", spark.sparkContext().applicationId());
    s.put("default_parallelism", spark.sparkContext().defaultParallelism());
    s.put("shuffle_partitions", spark.conf().get("spark.sql.shuffle.partitions"));
    details.put("spark", s);
  }

  /**
   * Day boundaries and dates are UTC by the input contract. Spark reads text timestamps without
   * an offset in the session time zone, so unless the user set one (--conf wins), use UTC.
   */
  private void pinSessionTimeZone() {
    if (!spark.sparkContext().getConf().contains(SESSION_TZ)) {
      spark.conf().set(SESSION_TZ, "UTC");
    } else if (!List.of("UTC", "Etc/UTC", "Z", "+00:00").contains(spark.conf().get(SESSION_TZ))) {
      warnings.add("spark.sql.session.timeZone is " + spark.conf().get(SESSION_TZ)
          + ": event_time text without an offset is read in that zone, not UTC");
    }
  }

  private static double seconds(long t0) {
    return Math.round((System.nanoTime() - t0) / 1e7) / 100.0;
  }
}
