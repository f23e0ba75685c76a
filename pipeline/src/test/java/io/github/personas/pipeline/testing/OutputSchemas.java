package io.github.personas.pipeline.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The pinned columns of the output tables (docs/output-schemas.tsv, DuckDB's names for the types
 * it reads from a real run's Parquet) and the Spark and Trino DDL that docs/bi.md shows for them,
 * generated from it so the guide cannot drift from the tables.
 */
public final class OutputSchemas {

  /** The pinned schemas, relative to a module's folder (where the tests run). */
  public static final Path TSV = Path.of("../docs/output-schemas.tsv");
  /** The BI guide holding the generated DDL. */
  public static final Path BI_GUIDE = Path.of("../docs/bi.md");
  /** Where the generated DDL is in the guide: between a begin and an end marker per dialect. */
  private static final String BEGIN = "<!-- %s DDL generated from output-schemas.tsv: edit that file, not this block -->";
  private static final String END = "<!-- end of the %s DDL -->";
  /** Where the examples put the tables: one folder per table below it. */
  static final String LOCATION = "s3a://marts/personas";

  /**
   * One pinned column.
   *
   * @param name the column
   * @param type its type as DuckDB names it
   */
  public record Column(String name, String type) {}

  private OutputSchemas() {}

  /** Every pinned table's columns, {@code dt} last, in the file's order. */
  public static Map<String, List<Column>> read() {
    Map<String, List<Column>> tables = new LinkedHashMap<>();
    try {
      for (String line : Files.readAllLines(TSV).subList(1, Files.readAllLines(TSV).size())) {
        String[] f = line.split("\t");
        tables.computeIfAbsent(f[0], t -> new ArrayList<>()).add(new Column(f[1], f[2]));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return tables;
  }

  /** A DuckDB type as Spark SQL writes it ({@code DataType.sql()}). */
  public static String sparkType(String duckdb) {
    return translate(duckdb.trim(), true);
  }

  /** A DuckDB type as Trino's Hive connector reads the Parquet Spark writes. */
  public static String trinoType(String duckdb) {
    return translate(duckdb.trim(), false);
  }

  private static String translate(String t, boolean spark) {
    if (t.endsWith("[]")) {
      String element = translate(t.substring(0, t.length() - 2), spark);
      return spark ? "ARRAY<" + element + ">" : "array(" + element + ")";
    }
    if (t.startsWith("MAP(")) {
      List<String> kv = splitTopLevel(t.substring(4, t.length() - 1));
      String k = translate(kv.get(0), spark);
      String v = translate(kv.get(1), spark);
      return spark ? "MAP<" + k + ", " + v + ">" : "map(" + k + ", " + v + ")";
    }
    if (t.startsWith("STRUCT(")) {
      List<String> fields = new ArrayList<>();
      for (String f : splitTopLevel(t.substring(7, t.length() - 1))) {
        int space = f.startsWith("\"") ? f.indexOf('"', 1) + 1 : f.indexOf(' ');
        String name = f.substring(0, space);
        String type = translate(f.substring(space).trim(), spark);
        // Spark quotes only names that are not plain words; Trino takes DuckDB's quoted keywords as they are.
        fields.add(spark ? name.replace("\"", "") + ": " + type : name + " " + type);
      }
      return spark ? "STRUCT<" + String.join(", ", fields) + ">" : "row(" + String.join(", ", fields) + ")";
    }
    return switch (t) {
      case "VARCHAR" -> spark ? "STRING" : "varchar";
      case "INTEGER" -> spark ? "INT" : "integer";
      case "BIGINT" -> spark ? "BIGINT" : "bigint";
      case "DOUBLE" -> spark ? "DOUBLE" : "double";
      case "BOOLEAN" -> spark ? "BOOLEAN" : "boolean";
      case "DATE" -> spark ? "DATE" : "date";
      // Spark writes INT96 timestamps, which the Hive connector reads at millisecond precision.
      case "TIMESTAMP" -> spark ? "TIMESTAMP" : "timestamp(3)";
      default -> throw new IllegalArgumentException("No Spark or Trino type for DuckDB's " + t
          + ": add it to OutputSchemas");
    };
  }

  /** {@code s} split at the commas outside parentheses. */
  private static List<String> splitTopLevel(String s) {
    List<String> parts = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (c == ',' && depth == 0) {
        parts.add(s.substring(start, i).trim());
        start = i + 1;
      }
    }
    parts.add(s.substring(start).trim());
    return parts;
  }

  /** Spark SQL creating every pinned table over its folder, then finding its dates. */
  public static String sparkDdl(Map<String, List<Column>> tables) {
    StringBuilder sql = new StringBuilder("CREATE DATABASE IF NOT EXISTS personas;\n");
    tables.forEach((table, columns) -> sql.append("\nCREATE TABLE IF NOT EXISTS personas.").append(table).append(" (\n")
        .append(wrap(columns.stream().map(c -> c.name() + " " + sparkType(c.type())).toList()))
        .append(")\nUSING parquet PARTITIONED BY (dt) LOCATION '").append(LOCATION).append('/').append(table)
        .append("';\nALTER TABLE personas.").append(table).append(" RECOVER PARTITIONS;\n"));
    return sql.toString();
  }

  /** Trino SQL (Hive connector) creating every pinned table over its folder, then finding its dates. */
  public static String trinoDdl(Map<String, List<Column>> tables) {
    StringBuilder sql = new StringBuilder("CREATE SCHEMA IF NOT EXISTS hive.personas WITH (location = '")
        .append(LOCATION).append("/');\n");
    tables.forEach((table, columns) -> sql.append("\nCREATE TABLE IF NOT EXISTS hive.personas.").append(table)
        .append(" (\n").append(wrap(columns.stream().map(c -> c.name() + " " + trinoType(c.type())).toList()))
        .append(")\nWITH (external_location = '").append(LOCATION).append('/').append(table)
        .append("', format = 'PARQUET', partitioned_by = ARRAY['dt']);\n")
        .append("CALL hive.system.sync_partition_metadata('personas', '").append(table).append("', 'ADD');\n"));
    return sql.toString();
  }

  /** Column definitions, comma-separated, indented, wrapped before 110 characters. */
  private static String wrap(List<String> columns) {
    StringBuilder out = new StringBuilder();
    StringBuilder line = new StringBuilder("  ");
    for (int i = 0; i < columns.size(); i++) {
      String c = columns.get(i) + (i < columns.size() - 1 ? "," : "");
      if (line.length() > 2 && line.length() + 1 + c.length() > 110) {
        out.append(line.toString().stripTrailing()).append('\n');
        line = new StringBuilder("  ");
      }
      line.append(c).append(' ');
    }
    return out.append(line.toString().stripTrailing()).toString();
  }

  /** Writes {@code guide} as docs/bi.md. */
  public static void write(String guide) {
    try {
      Files.writeString(BI_GUIDE, guide);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code guide} with its Spark and Trino DDL blocks generated again from {@code tables}. */
  public static String withDdl(String guide, Map<String, List<Column>> tables) {
    return replaceBlock(replaceBlock(guide, "Spark", sparkDdl(tables)), "Trino", trinoDdl(tables));
  }

  private static String replaceBlock(String guide, String dialect, String sql) {
    String begin = String.format(BEGIN, dialect);
    String end = String.format(END, dialect);
    int from = guide.indexOf(begin);
    int to = guide.indexOf(end);
    if (from < 0 || to < from) {
      throw new IllegalStateException(BI_GUIDE + " has no " + dialect + " DDL block: " + begin + " ... " + end);
    }
    return guide.substring(0, from + begin.length()) + "\n```sql\n" + sql + "```\n" + guide.substring(to);
  }

  /** The SQL statements of the guide's {@code dialect} ("Spark" or "Trino") DDL block. */
  public static List<String> statements(String guide, String dialect) {
    String begin = String.format(BEGIN, dialect);
    String block = guide.substring(guide.indexOf(begin) + begin.length(), guide.indexOf(String.format(END, dialect)));
    block = block.replace("```sql", "").replace("```", "");
    return java.util.Arrays.stream(block.split(";\\s*\\n")).map(String::strip).filter(s -> !s.isEmpty())
        .collect(Collectors.toList());
  }
}
