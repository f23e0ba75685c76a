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
 * Reads one configured source as it is (Parquet, CSV, JSON Lines or text), adding the file name.
 *
 * <p>No mapping or type conversion happens here: the validator needs the raw values to say
 * what was wrong with a row.
 */
public final class SourceReader {

  /** Column holding the path of the file a row came from. */
  public static final String SOURCE_FILE = "_source_file";
  /** Column holding where in its file the row's input split starts: with the file, where the row is. */
  public static final String SOURCE_BLOCK = "_source_block";

  private SourceReader() {}

  /**
   * Reads {@code source}; CSV defaults to {@code header=true} and every column as text.
   *
   * @throws ConfigException when the path does not exist, is empty or cannot be read
   */
  public static Dataset<Row> read(SparkSession spark, SourceConfig source) {
    checkPath(spark, source);
    DataFrameReader reader = spark.read().format(source.format());
    if (source.format().equals("csv")) {
      // enforceSchema=false checks every file's header against the columns: without it Spark
      // reads a second file with other column names position by position, silently misaligned.
      reader = reader.option("header", "true").option("mode", "PERMISSIVE").option("enforceSchema", "false");
    }
    reader = reader.options(source.options());
    Dataset<Row> df;
    try {
      df = reader.load(source.path());
    } catch (RuntimeException e) {
      throw ConfigException.of("Cannot read %s input %s as %s (%s.path / %s.format): %s",
          source.name(), source.path(), source.format(), source.configKey(), source.configKey(),
          e.getMessage());
    }
    // _metadata is the file-source hidden column; it replaces input_file_name() in Spark 4.
    return df.withColumn(SOURCE_FILE, df.col("_metadata.file_path"))
        .withColumn(SOURCE_BLOCK, df.col("_metadata.file_block_start"));
  }

  private static void checkPath(SparkSession spark, SourceConfig source) {
    Path path = new Path(source.path());
    try {
      FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
      FileStatus[] matches = fs.globStatus(path);
      if (matches == null || matches.length == 0) {
        throw ConfigException.of("The %s input path %s does not exist (%s.path, or --%s).",
            source.name(), source.path(), source.configKey(), source.name());
      }
      if (!holdsDataFile(fs, matches)) {
        throw ConfigException.of("The %s input path %s holds no files to read (Spark skips names starting with _"
                + " or .); point %s.path (or --%s) at the folder with the data.",
            source.name(), source.path(), source.configKey(), source.name());
      }
    } catch (IOException e) {
      throw new ConfigException(String.format("Cannot open the %s input path %s (%s.path): %s",
          source.name(), source.path(), source.configKey(), e.getMessage()), e);
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
