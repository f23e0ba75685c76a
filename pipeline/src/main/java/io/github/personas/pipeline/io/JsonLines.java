package io.github.personas.pipeline.io;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonEOFException;
import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.SourceConfig;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.catalyst.json.JSONOptions;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads a JSON Lines source one line at a time, so that one bad line is one quarantined row and
 * not a failed read.
 *
 * <p>Spark's JSON reader infers one schema from every line and fails the whole source on a key
 * that appears twice in an object, or on two keys that differ only in case (in one object, or at
 * the top level of two lines), since it compares column names without regard to case. A line
 * that is cut short, or that holds a number, a string or {@code null}, became a row of nulls
 * (quarantined as {@code missing_user_id}); a line holding an array of objects became a row per
 * object. Here each non-blank line is checked with the parser settings Spark would use
 * ({@link JSONOptions}) and is one row: a bad one carries its reason ({@link #PROBLEM}), a detail
 * and its text, and only the good ones are parsed. The schema is Spark's, inferred from the lines
 * that start as objects, or, when that schema has names that clash, from the lines that pass.
 */
public final class JsonLines {

  /** Column holding the reason code of a line that is not one well-formed object, else null. */
  public static final String PROBLEM = "_source_problem";
  /** Column saying what is wrong with such a line: where the syntax breaks, which key. */
  public static final String PROBLEM_DETAIL = "_source_problem_detail";
  /** Column holding the text of such a line (null on good lines). */
  public static final String TEXT = "_source_text";

  /** A line that is not valid JSON: cut short, or a syntax error. */
  public static final String MALFORMED = "malformed_json";
  /** Valid JSON that is not an object: a number, a string, true/false, null, or an array. */
  public static final String NOT_AN_OBJECT = "not_a_json_object";
  /** An object in which one key appears twice: which value is meant cannot be told. */
  public static final String DUPLICATE_KEY = "duplicate_json_key";
  /** A key that differs only in case from another key of its object or of the source. */
  public static final String AMBIGUOUS_KEY = "ambiguous_json_key";
  /** The reason codes a JSON Lines source adds, in the order they are checked. */
  public static final List<String> REASONS = List.of(MALFORMED, NOT_AN_OBJECT, DUPLICATE_KEY, AMBIGUOUS_KEY);

  private static final int MAX_NAME = 60;

  private JsonLines() {}

  /**
   * True when {@code source} is read here: JSON with the default one object per line, in UTF-8.
   * A source read with {@code multiLine = "true"} (a document per file) or another encoding is
   * read by Spark's JSON reader as it is.
   */
  public static boolean applies(SourceConfig source) {
    if (!source.format().equals("json")) {
      return false;
    }
    String multiLine = option(source, "multiLine");
    String encoding = option(source, "encoding") != null ? option(source, "encoding") : option(source, "charset");
    return (multiLine == null || !multiLine.trim().equalsIgnoreCase("true"))
        && (encoding == null || encoding.trim().replace("-", "").equalsIgnoreCase("utf8"));
  }

  private static String option(SourceConfig source, String name) {
    return source.options().entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
        .map(Map.Entry::getValue).findFirst().orElse(null);
  }

  /**
   * Reads the source's lines and parses those that are one well-formed object.
   *
   * @param load loads the source's files with a reader (its format and options already set),
   *             adding the file and block columns of {@link SourceReader}
   * @return the source's columns, the partition columns, {@link SourceReader#SOURCE_FILE},
   *         {@link SourceReader#SOURCE_BLOCK}, {@link #PROBLEM}, {@link #PROBLEM_DETAIL} and {@link #TEXT}
   */
  static Dataset<Row> read(SparkSession spark, SourceConfig source, Function<DataFrameReader, Dataset<Row>> load) {
    // Bad lines are quarantined here, so none is dropped or stops the read whatever the source's mode says.
    Map<String, String> options = new LinkedHashMap<>();
    source.options().forEach((k, v) -> {
      if (!k.equalsIgnoreCase("mode") && !k.equalsIgnoreCase("columnNameOfCorruptRecord")) {
        options.put(k, v);
      }
    });
    Dataset<Row> text = load.apply(spark.read().format("text").options(options));
    // Spark's JSON reader skips blank lines: they are not rows. (A regular expression anchored at
    // the start stops at the first character of most lines; trim with a set of characters cost
    // 1.2 s per million lines.)
    Dataset<Row> lines = text.where(functions.not(col("value").rlike("^[ \\t\\r\\n]*$")));
    boolean caseSensitive = Boolean.parseBoolean(spark.conf().get("spark.sql.caseSensitive", "false"));
    LineCheck check = new LineCheck(options, caseSensitive, Map.of());
    StructType schema = inferFromEveryObject(spark, lines, options, caseSensitive);
    if (schema == null) {
      schema = infer(spark, source, lines, check, options);
    }
    if (!caseSensitive && !clashes(schema, false, false).isEmpty()) {
      // Lines spell one top-level key in two cases: Spark would take them for one column and fail
      // to tell which is meant. The lines with the rarer spelling go; the others are read.
      check = new LineCheck(options, false, otherSpellings(lines, check, contractNames(source)));
      schema = infer(spark, source, lines, check, options);
      if (!clashes(schema, false, false).isEmpty()) {
        throw ConfigException.of("The %s input %s has keys that differ only in case, %s, which Spark cannot tell"
            + " apart (%s.path)", source.name(), source.path(), clashes(schema, false, false), source.configKey());
      }
    }
    if (schema.fields().length == 0 && !lines.isEmpty()) {
      // No line is a good object: each is still a row, quarantined with its own reason rather
      // than the source failing for want of a user_id column.
      schema = new StructType();
      for (String name : contractRequired(source)) {
        schema = schema.add(name, DataTypes.StringType);
      }
    }
    Column problem = check.udf().apply(col("value"));
    Dataset<Row> checked = lines.withColumn("_check", problem);
    Column parsed = functions.from_json(col("value"), schema, options);
    List<Column> out = new ArrayList<>();
    for (StructField f : schema.fields()) {
      out.add(col("_json").getField(f.name()).as(f.name()));
    }
    for (String c : checked.columns()) {
      if (!c.equals("value") && !c.equals("_check")) {
        out.add(col(quote(c)));
      }
    }
    out.add(col("_check.reason").as(PROBLEM));
    out.add(col("_check.detail").as(PROBLEM_DETAIL));
    out.add(functions.when(col("_check").isNotNull(), col("value")).as(TEXT));
    return checked.withColumn("_json", functions.when(col("_check").isNull(), parsed)).select(out.toArray(Column[]::new));
  }

  /**
   * The schema of every line that starts as an object, as Spark infers it without the line check:
   * the usual case, where no key repeats or differs in case from another, costs no check of the
   * lines before inference. Null when Spark fails or the schema has names that clash (at any
   * depth); the schema is then inferred from the lines that pass the check.
   */
  private static StructType inferFromEveryObject(SparkSession spark, Dataset<Row> lines, Map<String, String> options,
                                                 boolean caseSensitive) {
    // An array's objects would add their keys, and widen types, for lines that are not read.
    Dataset<String> objects = lines.where(functions.not(col("value").rlike("^[ \\t\\r\\n]*\\["))).select(col("value"))
        .as(Encoders.STRING());
    StructType schema;
    try {
      schema = spark.read().options(options).json(objects).schema();
    } catch (Exception e) {
      return null;
    }
    // Lines that are not valid JSON, or not objects, are the corrupt-record column: they are
    // quarantined by the line check, not read.
    String corrupt = spark.conf().get("spark.sql.columnNameOfCorruptRecord", "_corrupt_record");
    StructType kept = new StructType();
    for (StructField f : schema.fields()) {
      if (!f.name().equals(corrupt)) {
        kept = kept.add(f);
      }
    }
    return clashes(kept, true, caseSensitive).isEmpty() ? kept : null;
  }

  private static StructType infer(SparkSession spark, SourceConfig source, Dataset<Row> lines, LineCheck check,
                                  Map<String, String> options) {
    Dataset<String> good = lines.where(check.udf().apply(col("value")).isNull()).select(col("value"))
        .as(Encoders.STRING());
    try {
      return spark.read().options(options).json(good).schema();
    } catch (Exception e) {
      throw SourceReader.unreadable(source, e);
    }
  }

  /**
   * Columns whose names are equal (but for case, unless {@code caseSensitive}), grouped; with
   * {@code nested}, also such fields of structs, in arrays too.
   */
  private static List<List<String>> clashes(StructType schema, boolean nested, boolean caseSensitive) {
    Map<String, List<String>> byFolded = new TreeMap<>();
    List<List<String>> out = new ArrayList<>();
    for (StructField f : schema.fields()) {
      byFolded.computeIfAbsent(caseSensitive ? f.name() : f.name().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(f.name());
      if (nested) {
        org.apache.spark.sql.types.DataType t = f.dataType();
        while (t instanceof org.apache.spark.sql.types.ArrayType a) {
          t = a.elementType();
        }
        if (t instanceof StructType inner) {
          out.addAll(clashes(inner, true, caseSensitive));
        }
      }
    }
    byFolded.values().stream().filter(names -> names.size() > 1).forEach(out::add);
    return out;
  }

  /**
   * Of the top-level keys of the good lines that differ only in case, every spelling but the one
   * most lines use (on a tie, the contract's column name, then the first in sort order), each
   * with the spelling kept.
   */
  private static Map<String, String> otherSpellings(Dataset<Row> lines, LineCheck check, List<String> contract) {
    UserDefinedFunction keys = functions.udf((UDF1<String, String[]>) check::topLevelKeys,
        DataTypes.createArrayType(DataTypes.StringType));
    List<Row> counts = lines.where(check.udf().apply(col("value")).isNull())
        .select(functions.explode(keys.apply(col("value"))).as("key")).groupBy("key").count().collectAsList();
    Map<String, Map<String, Long>> byFolded = new TreeMap<>();
    for (Row r : counts) {
      byFolded.computeIfAbsent(r.getString(0).toLowerCase(Locale.ROOT), k -> new TreeMap<>())
          .put(r.getString(0), r.getLong(1));
    }
    Map<String, String> others = new HashMap<>();
    for (Map<String, Long> spellings : byFolded.values()) {
      if (spellings.size() < 2) {
        continue;
      }
      String kept = null;
      for (Map.Entry<String, Long> s : spellings.entrySet()) {
        if (kept == null || s.getValue() > spellings.get(kept)
            || (s.getValue().equals(spellings.get(kept)) && contract.contains(s.getKey()) && !contract.contains(kept))) {
          kept = s.getKey();
        }
      }
      for (String s : spellings.keySet()) {
        if (!s.equals(kept)) {
          others.put(s, kept);
        }
      }
    }
    return others;
  }

  private static List<String> contractNames(SourceConfig source) {
    return table(source).columnNames();
  }

  private static List<String> contractRequired(SourceConfig source) {
    return table(source).columns().stream().filter(Contract.Column::required).map(Contract.Column::name).toList();
  }

  private static Contract.Table table(SourceConfig source) {
    return source.name().equals(Contract.PROFILES.name()) ? Contract.PROFILES : Contract.EVENTS;
  }

  private static String quote(String name) {
    return "`" + name.replace("`", "``") + "`";
  }

  /** A name shortened for a detail, which is at most 200 characters. */
  private static String shown(String name) {
    return name.length() <= MAX_NAME ? name : name.substring(0, MAX_NAME) + "...";
  }

  /**
   * The check of one line: null for one well-formed object whose keys are unambiguous, else its
   * reason and a detail. Details name keys and character positions, never values, so a bad line
   * of personal data leaks nothing through them.
   */
  static final class LineCheck implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final StructType RESULT = new StructType().add("reason", DataTypes.StringType)
        .add("detail", DataTypes.StringType);

    private final Map<String, String> options;
    private final boolean caseSensitive;
    private final Map<String, String> otherSpellings;
    private transient JsonFactory factory;

    /**
     * @param options        the source's JSON options, which decide what is valid (single quotes,
     *                       NaN, comments...) as they do for Spark
     * @param caseSensitive  spark.sql.caseSensitive: keys differing in case are then two columns
     * @param otherSpellings top-level keys that lose to another spelling in the source, each with
     *                       the spelling kept
     */
    LineCheck(Map<String, String> options, boolean caseSensitive, Map<String, String> otherSpellings) {
      this.options = new HashMap<>(options);
      this.caseSensitive = caseSensitive;
      this.otherSpellings = new HashMap<>(otherSpellings);
    }

    UserDefinedFunction udf() {
      return functions.udf((UDF1<String, Row>) this::check, RESULT);
    }

    private JsonFactory factory() {
      if (factory == null) {
        scala.collection.immutable.Map<String, String> m = scala.collection.immutable.Map$.MODULE$.from(
            scala.jdk.javaapi.CollectionConverters.asScala(options));
        factory = new JSONOptions(m, "UTC", "_corrupt_record").buildJsonFactory();
      }
      return factory;
    }

    /** The check of {@code line}; see the class. */
    Row check(String line) {
      String keyProblem = null;
      String keyDetail = null;
      try (JsonParser p = factory().createParser(line)) {
        JsonToken root = p.nextToken();
        if (root == null) {
          return null;
        }
        // The keys of each open object, folded to lower case unless case matters, with their spelling.
        Deque<Map<String, String>> objects = new ArrayDeque<>();
        int depth = 0;
        for (JsonToken t = root; t != null; t = p.nextToken()) {
          switch (t) {
            case START_OBJECT -> {
              objects.push(new HashMap<>());
              depth++;
            }
            case END_OBJECT -> {
              objects.pop();
              depth--;
            }
            case START_ARRAY -> depth++;
            case END_ARRAY -> depth--;
            case FIELD_NAME -> {
              String field = p.currentName();
              String folded = caseSensitive ? field : field.toLowerCase(Locale.ROOT);
              String seen = objects.peek().putIfAbsent(folded, field);
              if (keyProblem == null && seen != null) {
                String where = where(p);
                if (seen.equals(field)) {
                  keyProblem = DUPLICATE_KEY;
                  keyDetail = String.format("key '%s' appears twice in %s", shown(field), where);
                } else {
                  keyProblem = AMBIGUOUS_KEY;
                  keyDetail = String.format("keys '%s' and '%s' in %s differ only in case", shown(seen), shown(field),
                      where);
                }
              } else if (keyProblem == null && depth == 1 && otherSpellings.containsKey(field)) {
                keyProblem = AMBIGUOUS_KEY;
                keyDetail = String.format("key '%s' differs only in case from '%s', which more lines of the source use",
                    shown(field), shown(otherSpellings.get(field)));
              }
            }
            default -> { }
          }
          if (depth == 0) {
            // The root value is complete: anything after it is a second value on the line.
            if (p.nextToken() != null) {
              return RowFactory.create(MALFORMED, String.format("more than one JSON value on the line (character %d of %d)",
                  p.currentTokenLocation().getCharOffset() + 1, line.length()));
            }
            break;
          }
        }
        if (root != JsonToken.START_OBJECT) {
          return RowFactory.create(NOT_AN_OBJECT, String.format("the line holds a JSON %s, not an object: JSON Lines"
              + " has one object (one row) per line", kind(root)));
        }
        return keyProblem == null ? null : RowFactory.create(keyProblem, keyDetail);
      } catch (JsonEOFException e) {
        return RowFactory.create(MALFORMED, String.format("the line ends inside a JSON value (after %d characters):"
            + " cut short?", line.length()));
      } catch (JsonProcessingException e) {
        return RowFactory.create(MALFORMED, String.format("not valid JSON at character %d of %d",
            e.getLocation() == null ? 0 : e.getLocation().getCharOffset() + 1, line.length()));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** The distinct keys of a line's top-level object; empty for a line that is not one. */
    String[] topLevelKeys(String line) {
      List<String> keys = new ArrayList<>();
      try (JsonParser p = factory().createParser(line)) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          return new String[0];
        }
        for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
          if (!keys.contains(p.currentName())) {
            keys.add(p.currentName());
          }
          p.nextToken();
          p.skipChildren();
        }
      } catch (IOException e) {
        return new String[0];
      }
      return keys.toArray(String[]::new);
    }

    /** The object holding the field the parser is at, as a JSON pointer. */
    private static String where(JsonParser p) {
      String pointer = p.getParsingContext().pathAsPointer().head().toString();
      return pointer.isEmpty() ? "the line's object" : "object " + shown(pointer);
    }

    private static String kind(JsonToken t) {
      return switch (t) {
        case START_ARRAY -> "array";
        case VALUE_STRING -> "string";
        case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "number";
        case VALUE_TRUE, VALUE_FALSE -> "boolean";
        case VALUE_NULL -> "null";
        default -> t.name().toLowerCase(Locale.ROOT);
      };
    }
  }
}
