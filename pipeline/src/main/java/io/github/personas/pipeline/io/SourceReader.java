package io.github.personas.pipeline.io;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.SourceConfig;
import java.io.IOException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Reads one configured source as it is (Parquet, CSV, JSON Lines or text), adding the file name;
 * a JSON Lines source also says which lines are not one well-formed object ({@link JsonLines}).
 *
 * <p>No mapping or type conversion happens here: the validator needs the raw values to say
 * what was wrong with a row.
 */
public final class SourceReader {

  /** Column holding the path of the file a row came from. */
  public static final String SOURCE_FILE = "_source_file";
  /** Column holding where in its file the row's input split starts: with the file, where the row is. */
  public static final String SOURCE_BLOCK = "_source_block";
  /** Columns a read adds that are not the source's: where a row is, and what is wrong with a JSON line. */
  public static final java.util.Set<String> ADDED_COLUMNS = java.util.Set.of(SOURCE_FILE, SOURCE_BLOCK,
      JsonLines.PROBLEM, JsonLines.PROBLEM_DETAIL, JsonLines.TEXT);

  private SourceReader() {}

  /**
   * A source as read.
   *
   * @param rows     its rows, with {@link #SOURCE_FILE} and {@link #SOURCE_BLOCK}
   * @param warnings what a person should know about what was not read
   */
  public record Read(Dataset<Row> rows, java.util.List<String> warnings) {
    public Read {
      warnings = java.util.List.copyOf(warnings);
    }
  }

  /**
   * Reads {@code source}; CSV defaults to {@code header=true}, RFC 4180 quoting and every column as
   * text; Parquet files of one source have their schemas merged.
   *
   * @throws ConfigException when the path does not exist, is empty or cannot be read
   */
  public static Read read(SparkSession spark, SourceConfig source) {
    if (io.github.personas.pipeline.config.PathTemplate.isDated(source.path())) {
      throw new IllegalStateException(source.configKey() + ".path " + source.path()
          + " was not resolved for a run date (SourceConfig.forDate)");
    }
    String path = literal(spark, source);
    checkPath(spark, source, path);
    java.util.List<String> warnings = new java.util.ArrayList<>();
    java.util.List<String> partitions = datePartitions(spark, source, path, warnings);
    DataFrameReader reader = spark.read().format(source.format());
    if (source.format().equals("csv")) {
      // enforceSchema=false checks every file's header against the columns: without it Spark
      // reads a second file with other column names position by position, silently misaligned.
      reader = reader.option("header", "true").option("mode", "PERMISSIVE").option("enforceSchema", "false");
      // RFC 4180, as spreadsheets and most exports write CSV: a quote inside a quoted field is
      // doubled, and a quoted field may hold line breaks. Spark's own defaults (a backslash escapes,
      // one line per record) split such records, kept doubled quotes and let a field ending in a
      // backslash swallow the rest of its row. multiLine reads each file in one task (a gzip file
      // is read so anyway); a source whose fields never hold line breaks may set multiLine = "false".
      reader = reader.option("multiLine", "true").option("escape", "\"");
    }
    if (source.format().equals("parquet")) {
      // Files written over time gain columns: Spark takes one file's schema and reads the others
      // through it, so an optional column missing from that file was dropped from every file.
      // Merged, each file keeps its values; types that cannot merge are an error naming them.
      reader = reader.option("mergeSchema", "true");
    }
    reader = reader.options(source.options());
    java.util.function.Function<DataFrameReader, Dataset<Row>> load = r -> {
      Dataset<Row> df = partitions == null ? r.load(path)
          : r.option("basePath", path).load(partitions.toArray(String[]::new));
      // _metadata is the file-source hidden column; it replaces input_file_name() in Spark 4.
      return df.withColumn(SOURCE_FILE, df.col("_metadata.file_path"))
          .withColumn(SOURCE_BLOCK, df.col("_metadata.file_block_start"));
    };
    try {
      return new Read(JsonLines.applies(source) ? JsonLines.read(spark, source, load) : load.apply(reader), warnings);
    } catch (ConfigException e) {
      throw e;
    } catch (Exception e) {
      // SparkException is checked, yet Scala code throws it from methods that do not declare it.
      throw unreadable(source, e);
    }
  }

  /**
   * The error a person gets for a file Spark cannot read: which file, and why in one line. A file
   * named .gz that is not gzip says so; a CSV whose header differs from its folder's says that the
   * files of one source share one header.
   */
  public static ConfigException unreadable(SourceConfig source, Throwable e) {
    String file = null;
    String failure = null;
    Throwable root = e;
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (file == null && t.getMessage() != null && t.getMessage().contains("FAILED_READ_FILE")) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("reading file (\\S+?)\\.?\\s").matcher(t.getMessage());
        file = m.find() ? m.group(1) : null;
        failure = ConfigException.firstLine(t.getCause() != null ? t.getCause() : t);
      }
      root = t;
    }
    String why = ConfigException.firstLine(root);
    if (why.contains("not a gzip file") || why.contains("Not in GZIP format") || why.contains("incorrect header check")) {
      return new ConfigException(String.format("%s: %s is not gzip-compressed, though its name ends in .gz: compress"
          + " it, or rename it without .gz (%s.path).", source.configKey(), file, source.configKey()), e);
    }
    if (failure != null && failure.toLowerCase(java.util.Locale.ROOT).contains("header")) {
      return new ConfigException(String.format("%s: file %s: %s. The files of one source must share one header (the"
          + " same columns in the same order); move files of another layout to their own source or folder.",
          source.configKey(), file, failure), e);
    }
    return new ConfigException(String.format("Cannot read %s input %s as %s (%s.path / %s.format)%s: %s",
        source.name(), source.path(), source.format(), source.configKey(), source.configKey(),
        file == null ? "" : ", file " + file, why), e);
  }

  /**
   * The path to read, refused when it exists as written but holds glob characters: Spark and
   * Hadoop read {@code ev[1]} as a pattern (matching {@code ev1}) at several places, so an escaped
   * path still fails deep in a read with a stack trace.
   */
  private static String literal(SparkSession spark, SourceConfig source) {
    String p = source.path();
    if (!p.matches(".*[\\[\\]{}*?\\\\].*")) {
      return p;
    }
    boolean exists;
    try {
      Path path = new Path(p);
      exists = path.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(path);
    } catch (IOException | IllegalArgumentException e) {
      exists = false;
    }
    if (exists) {
      throw ConfigException.of("The %s input path %s holds glob characters ([ ] { } * ? \\), which Spark reads as a"
          + " pattern, not as a name: rename the folder or file (%s.path, or --%s).", source.name(), p,
          source.configKey(), source.name());
    }
    return p;
  }

  /**
   * For a folder of {@code dt=} partitions, the partitions to read: those named by a date. Another
   * {@code dt=} folder (a {@code dt=backup} copy) is skipped with a warning naming it; Spark would
   * read it and then fail to compare its name with the run date. Null for any other layout.
   */
  private static java.util.List<String> datePartitions(SparkSession spark, SourceConfig source, String path,
                                                       java.util.List<String> warnings) {
    try {
      Path root = new Path(path);
      FileSystem fs = root.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (!fs.exists(root) || !fs.getFileStatus(root).isDirectory()) {
        return null;
      }
      java.util.List<String> dates = new java.util.ArrayList<>();
      java.util.List<String> others = new java.util.ArrayList<>();
      for (FileStatus child : fs.listStatus(root)) {
        String name = child.getPath().getName();
        if (child.isDirectory() && name.startsWith("dt=")) {
          if (name.substring(3).matches("\\d{4}-\\d{2}-\\d{2}")) {
            dates.add(child.getPath().toString());
          } else {
            others.add(name);
          }
        }
      }
      if (others.isEmpty()) {
        return null;
      }
      java.util.Collections.sort(others);
      warnings.add(String.format("%s: skipped %s under %s: not a date partition (dt=YYYY-MM-DD)",
          source.configKey(), String.join(", ", others), source.path()));
      if (dates.isEmpty()) {
        throw ConfigException.of("The %s input path %s has no date partition (dt=YYYY-MM-DD), only %s (%s.path).",
            source.name(), source.path(), others, source.configKey());
      }
      return dates;
    } catch (IOException e) {
      throw new ConfigException(String.format("Cannot open the %s input path %s (%s.path): %s",
          source.name(), source.path(), source.configKey(), e.getMessage()), e);
    }
  }

  private static void checkPath(SparkSession spark, SourceConfig source, String literal) {
    Path path;
    try {
      path = new Path(literal);
    } catch (IllegalArgumentException e) {
      throw ConfigException.of("The %s input path %s is not a path Hadoop can read (%s.path): %s",
          source.name(), source.path(), source.configKey(), ConfigException.firstLine(e));
    }
    try {
      FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
      FileStatus[] matches = fs.globStatus(path);
      if (matches == null || matches.length == 0) {
        // "/data/dt=/x" or ".../dt=": a shell replaced an unquoted ${date} on the command line with nothing.
        String shell = source.path().matches(".*=(/.*)?") ? String.format(" A ${date} on a command line must be"
            + " in single quotes (--%s '/data/dt=${date}'), or the shell replaces it with nothing.", source.name()) : "";
        throw ConfigException.of("The %s input path %s does not exist (%s.path, or --%s).%s",
            source.name(), source.path(), source.configKey(), source.name(), shell);
      }
      if (!holdsDataFile(fs, matches)) {
        throw ConfigException.of("The %s input path %s holds no files to read (Spark skips names starting with _"
                + " or .); point %s.path (or --%s) at the folder with the data.",
            source.name(), source.path(), source.configKey(), source.name());
      }
    } catch (IOException e) {
      throw new ConfigException(String.format("Cannot open the %s input path %s (%s.path): %s",
          source.name(), source.path(), source.configKey(), e.getMessage()), e);
    } catch (IllegalArgumentException e) {
      // Hadoop parses "in:put" in a path as a URI scheme (HADOOP-3257).
      throw new ConfigException(String.format("The %s input path %s, or a file or folder under it, has a name Hadoop"
              + " cannot read (%s); a ':' in a name is the usual cause: rename it (%s.path, or --%s).",
          source.name(), source.path(), ConfigException.firstLine(e), source.configKey(), source.name()), e);
    }
  }

  /** True when some match is, or holds below it, a file Spark reads; stops at the first one. */
  private static boolean holdsDataFile(FileSystem fs, FileStatus[] matches) throws IOException {
    for (FileStatus m : matches) {
      if (m.isFile()) {
        return true;
      }
      String root = m.getPath().toUri().getPath();
      org.apache.hadoop.fs.RemoteIterator<org.apache.hadoop.fs.LocatedFileStatus> files = fs.listFiles(m.getPath(), true);
      while (files.hasNext()) {
        String relative = files.next().getPath().toUri().getPath().substring(root.length());
        boolean hidden = java.util.Arrays.stream(relative.split("/")).anyMatch(p -> p.startsWith("_") || p.startsWith("."));
        if (!hidden) {
          return true;
        }
      }
    }
    return false;
  }
}
