package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.io.OutputWriter;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * After a successful publish, the output tables in Spark's session catalog
 * ({@code personas.output.catalog}): each table created when missing, as an external Parquet
 * table over its folder partitioned by {@code dt}, and the run date's partition added; the
 * partition of a table the run withdrew is dropped. Every step is idempotent, so a rerun of a
 * date, or of a registration that failed half way, leaves the catalog as one clean run would.
 *
 * <p>The session catalog is the Hive metastore when the deployer enables it
 * ({@code spark.sql.catalogImplementation=hive}), which Trino and other engines read too;
 * otherwise an in-memory catalog that ends with the application.
 */
public final class CatalogStage {

  private static final Logger LOG = LogManager.getLogger(CatalogStage.class);

  /**
   * What the registration did.
   *
   * @param database   the catalog database
   * @param registered the tables whose partition of the run date is registered, created ones included
   * @param created    the tables this run created (their earlier partitions recovered too)
   * @param dropped    the tables whose partition of the run date was dropped: the run withdrew it
   */
  public record Result(String database, List<String> registered, List<String> created, List<String> dropped) {
    public Result {
      registered = List.copyOf(registered);
      created = List.copyOf(created);
      dropped = List.copyOf(dropped);
    }
  }

  private final RunContext ctx;
  private final SparkSession spark;

  public CatalogStage(RunContext ctx) {
    this.ctx = ctx;
    this.spark = ctx.spark();
  }

  /**
   * Fails before the run does any work when the database holds one of the output tables over
   * another folder: registering would mix two outputs, or someone else's table, under one name.
   *
   * @throws ConfigException naming the table, both folders and the key
   */
  public void check() {
    Optional<String> database = ctx.config().catalogDatabase();
    if (database.isEmpty() || !spark.catalog().databaseExists(database.get())) {
      return;
    }
    for (String table : OutputWriter.TABLES) {
      String name = database.get() + "." + table;
      if (spark.catalog().tableExists(name)) {
        String expected = qualified(ctx.out().table(table));
        String actual = location(name);
        if (!expected.equals(actual)) {
          throw ConfigException.of("personas.output.catalog = %s: the table %s exists over %s, not over this"
              + " output's %s. Name another database, or drop that table if it is an old registration of this"
              + " output (a new one recovers every date's partition).", database.get(), name, actual, expected);
        }
      }
    }
  }

  /**
   * Registers the run date's partitions of every output table the run published.
   *
   * @param published the summary of the publish, which must have succeeded: a run a gate stopped
   *                  registers nothing, its dates' tables stay as the catalog had them
   * @return what was registered; empty when no catalog is configured
   * @throws ConfigException when a table of the database lies over another folder
   * @throws IllegalStateException when the catalog refuses a statement; the tables stay published
   */
  public Optional<Result> run(RunSummary published) {
    if (!"succeeded".equals(published.status())) {
      throw new IllegalArgumentException("Only a succeeded publish is registered, not one " + published.status());
    }
    Optional<String> database = ctx.config().catalogDatabase();
    if (database.isEmpty()) {
      return Optional.empty();
    }
    check();
    String db = database.get();
    try {
      return Optional.of(register(db));
    } catch (Exception e) {
      // Spark's AnalysisException is a checked exception to Java, though no signature declares it.
      throw new IllegalStateException(String.format("The tables of %s are published under %s, but registering them"
              + " in the catalog database %s (personas.output.catalog) failed: %s. Rerunning the date registers"
              + " them; nothing else changes.", ctx.date(), ctx.config().outputPath(), db,
          ConfigException.firstLine(e)), e);
    }
  }

  private Result register(String db) {
    if (!"hive".equals(spark.conf().get("spark.sql.catalogImplementation", "in-memory"))) {
      LOG.warn("Registering the tables in the in-memory catalog, which ends with this application: for a"
          + " metastore other jobs and Trino see, submit with --conf spark.sql.catalogImplementation=hive");
    }
    spark.sql("CREATE DATABASE IF NOT EXISTS " + db);
    List<String> registered = new ArrayList<>();
    List<String> created = new ArrayList<>();
    List<String> dropped = new ArrayList<>();
    String dt = "PARTITION (dt = " + literal(ctx.date().toString()) + ")";
    for (String table : OutputWriter.TABLES) {
      String name = db + "." + table;
      boolean exists = spark.catalog().tableExists(name);
      if (!ctx.out().has(table, ctx.date())) {
        // Withdrawn by this run (a stage that wrote nothing this time), or never written.
        if (exists && partitions(name).contains("dt=" + ctx.date())) {
          spark.sql("ALTER TABLE " + name + " DROP IF EXISTS " + dt);
          dropped.add(table);
        }
        continue;
      }
      if (!exists) {
        create(name, table);
        created.add(table);
      } else {
        warnOfNewColumns(name, table);
      }
      spark.sql("ALTER TABLE " + name + " ADD IF NOT EXISTS " + dt + " LOCATION "
          + literal(qualified(ctx.out().partition(table))));
      // A rerun replaced the date's files: a session that listed them before must list them again.
      spark.catalog().refreshTable(name);
      registered.add(table);
    }
    Result result = new Result(db, registered, created, dropped);
    LOG.info("Catalog {}: partition dt={} of {} registered{}{}", db, ctx.date(), registered,
        created.isEmpty() ? "" : "; created " + created,
        dropped.isEmpty() ? "" : "; dropped the withdrawn partition of " + dropped);
    return result;
  }

  /**
   * Creates {@code name} over {@code table}'s folder with the columns of the partition this run
   * published (the newest schema, not an older date's), then adds the partitions earlier runs
   * published before the table existed.
   */
  private void create(String name, String table) {
    StructType schema = spark.read().parquet(ctx.out().partition(table)).schema();
    String columns = java.util.Arrays.stream(schema.fields())
        .map(f -> "`" + f.name() + "` " + f.dataType().sql())
        .collect(Collectors.joining(", "));
    spark.sql("CREATE TABLE IF NOT EXISTS " + name + " (" + columns + ", dt DATE) USING parquet PARTITIONED BY (dt)"
        + " LOCATION " + literal(qualified(ctx.out().table(table))));
    spark.sql("ALTER TABLE " + name + " RECOVER PARTITIONS");
  }

  /** Columns a run now writes that the table, created from an older run, does not show. */
  private void warnOfNewColumns(String name, String table) {
    Set<String> known = Set.of(spark.table(name).columns());
    List<String> missing = java.util.Arrays.stream(spark.read().parquet(ctx.out().partition(table)).schema().fields())
        .map(StructField::name).filter(c -> !known.contains(c)).toList();
    if (!missing.isEmpty()) {
      LOG.warn("{} does not show the columns {} of the partition dt={} (the configuration changed since it was"
          + " created): drop the table and the next run creates it with them", name, missing, ctx.date());
    }
  }

  private Set<String> partitions(String name) {
    return spark.sql("SHOW PARTITIONS " + name).collectAsList().stream().map(r -> r.getString(0))
        .collect(Collectors.toSet());
  }

  /** The folder a catalog table lies over, as the catalog stores it. */
  private String location(String name) {
    for (Row r : spark.sql("DESCRIBE TABLE EXTENDED " + name).collectAsList()) {
      if ("Location".equals(r.getString(0))) {
        return r.getString(1);
      }
    }
    return "";
  }

  /** {@code path} with its file system's scheme, as a metastore stores locations. */
  private String qualified(String path) {
    Path p = new Path(path);
    try {
      return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).makeQualified(p).toString();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot open " + path, e);
    }
  }

  /** A Spark SQL string literal of {@code text}. */
  private static String literal(String text) {
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }
}
