package io.github.personas.pipeline.run;

import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.segment.HoldoutAssigner;
import io.github.personas.pipeline.segment.LifecycleStager;
import io.github.personas.pipeline.segment.PersonaClusterer;
import io.github.personas.pipeline.segment.RfmScorer;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Stage 3: RFM scores and segments, lifecycle stages, the holdout, and k-means personas matched
 * to the previous run's; writes segments, personas and k_selection, and the persona model.
 */
public final class SegmentStage {

  private static final Logger LOG = LogManager.getLogger(SegmentStage.class);

  /**
   * The users segmented: the stage's result.
   *
   * @param segments     one row per user: the segment columns
   * @param users        the segment columns with every feature beside them, for the report
   * @param personas     the personas table's rows
   * @param kSelection   the k_selection table's rows
   * @param rfmCutPoints the RFM cut points used
   * @param facts        the k chosen and the personas named
   * @param report       what the stage did
   */
  public record Result(Dataset<Row> segments, Dataset<Row> users, List<Row> personas, List<Row> kSelection,
                       RfmScorer.CutPoints rfmCutPoints, PersonaClusterer.Facts facts, StageReport report) {}

  /** The columns of the segments table. */
  public static final List<String> SEGMENT_COLUMNS = List.of("user_id", RfmScorer.R_SCORE, RfmScorer.F_SCORE,
      RfmScorer.M_SCORE, RfmScorer.RFM_SEGMENT, LifecycleStager.LIFECYCLE_STAGE, PersonaClusterer.PERSONA_ID,
      PersonaClusterer.PERSONA_NAME, PersonaClusterer.DISTANCE, HoldoutAssigner.HOLDOUT);

  private final RunContext ctx;
  private final RfmScorer rfm;
  private final LifecycleStager lifecycle;
  private final PersonaClusterer clusterer;

  public SegmentStage(RunContext ctx) {
    this.ctx = ctx;
    this.rfm = new RfmScorer(ctx.config().rfm());
    this.lifecycle = new LifecycleStager(ctx.config().lifecycle());
    this.clusterer = new PersonaClusterer(ctx.config().personas());
  }

  /**
   * Checks the rule tables and the clustering inputs before any data is read: a broken rule table
   * should cost seconds, not a run.
   *
   * @param features a features table with no rows
   */
  public void checkRules(Dataset<Row> features) {
    rfm.checkTable(ctx.spark());
    lifecycle.checkRules(features);
    // The clusterer sees each user's lifecycle stage and RFM segment beside the features (a
    // descriptor may count a persona's lapsing users), so its expressions are checked with them,
    // added by the very expressions the run adds them with.
    Dataset<Row> segmented = lifecycle.apply(rfm.unscored(features));
    clusterer.checkConfig(new HoldoutAssigner(ctx.config().holdout()).apply(segmented));
  }

  /** Segments {@code features}, one row per user. */
  public Result run(Dataset<Row> features, Caches caches) {
    try (StageLog log = StageLog.start(Stage.SEGMENT, ctx)) {
      RfmScorer.Scored scored = rfm.apply(features);
      Dataset<Row> staged = new HoldoutAssigner(ctx.config().holdout()).apply(lifecycle.apply(scored.users()));
      PersonaClusterer.Result result = clusterer.apply(staged, previousPersonas(log), caches);
      // Only the segment columns are cached. The report reads the segments with the features beside
      // them straight from the clusterer's output, whose input (every feature) is cached already:
      // joining the segments back to the features cost the report ~10 s at 500k users, and caching
      // the wide rows again cost 5 s more than these columns.
      Dataset<Row> segments = caches.persist(result.assigned().select(
          SEGMENT_COLUMNS.stream().map(result.assigned()::col).toArray(Column[]::new)));
      long users = segments.count();
      log.write(OutputWriter.SEGMENTS, segments, users);
      List<Row> personas = result.personas().collectAsList();
      log.write(OutputWriter.PERSONAS, result.personas(), personas.size());
      List<Row> kSelection = result.kSelection().collectAsList();
      log.write(OutputWriter.K_SELECTION, result.kSelection(), kSelection.size());
      LOG.info("Personas: {}", result.choice().reason());
      if (result.model() != null) {
        // A fresh staging folder each run: MLlib's save, which cannot overwrite, always writes anew.
        String path = ctx.out().writePath(OutputWriter.MODELS) + "/persona_model";
        result.model().save(ctx.spark(), path);
        log.file("persona_model", ctx.out().partition(OutputWriter.MODELS) + "/persona_model");
      }
      Dataset<Row> forReport = withFeatures(SEGMENT_COLUMNS, features, result.assigned());
      return new Result(segments, forReport, personas, kSelection, scored.cutPoints(), result.facts(personas),
          log.finish());
    }
  }

  /** {@code rows}' columns {@code first}, then the features' other columns, in the features' order. */
  static Dataset<Row> withFeatures(List<String> first, Dataset<Row> features, Dataset<Row> rows) {
    List<String> cols = new ArrayList<>(first);
    cols.addAll(featuresBesides(first, features));
    return rows.select(cols.stream().map(rows::col).toArray(Column[]::new));
  }

  /** The features' columns not among {@code columns}, in the features' order. */
  static List<String> featuresBesides(List<String> columns, Dataset<Row> features) {
    return Arrays.stream(features.columns()).filter(c -> !columns.contains(c)).toList();
  }

  /** The latest earlier run's personas and k, for stable ids; none on a first run. */
  private PersonaClusterer.Previous previousPersonas(StageLog log) {
    OutputWriter out = ctx.out();
    Optional<LocalDate> prev = out.previousDate(OutputWriter.PERSONAS);
    if (prev.isEmpty()) {
      LOG.info("No earlier personas under {}: persona ids start at P01", ctx.config().outputPath());
      return PersonaClusterer.Previous.NONE;
    }
    List<PersonaClusterer.PreviousPersona> personas = new ArrayList<>();
    Dataset<Row> table = out.read(OutputWriter.PERSONAS, prev.get());
    if (!List.of(table.columns()).containsAll(List.of("persona_name", "centroid_transformed"))) {
      log.warn("The personas of " + prev.get() + " predate stable ids (no centroid_transformed column);"
          + " every persona gets a new id");
    } else {
      // Tables written before rule personas have no kind: all their personas were clustered.
      Column kind = List.of(table.columns()).contains("kind") ? table.col("kind")
          : functions.lit(PersonaClusterer.CLUSTER_KIND);
      for (Row r : table.select(table.col("persona_id"), table.col("persona_name"), table.col("centroid_transformed"),
          kind).collectAsList()) {
        personas.add(new PersonaClusterer.PreviousPersona(r.getString(0), r.getString(1),
            scala.jdk.javaapi.CollectionConverters.asJava(r.<String, Double>getMap(2)), r.getString(3)));
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
}
