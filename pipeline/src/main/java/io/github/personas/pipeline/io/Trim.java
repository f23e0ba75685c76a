package io.github.personas.pipeline.io;

import java.util.regex.Pattern;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * How a user id read from an input, or listed for suppression, is trimmed: of Unicode whitespace
 * at both ends, not of ASCII spaces alone.
 *
 * <p>Spark's {@code trim} removes only the space character, so a user id with a trailing tab was a
 * second copy of a real user, an id of a lone no-break space was a user, and a suppression list
 * whose ids were trimmed one way missed events trimmed another. One set of characters on every
 * side: Unicode's White_Space property (tab, line breaks, no-break space, the em and ideographic
 * spaces, ...) and the zero-width space and byte-order mark, which no export means as part of an
 * id. Case and Unicode normal form are left as they are (docs/input-contract.md).
 *
 * <p>Only the user id gets this trim in the validator: Spark's {@code trim(str, chars)} walks the
 * whole string and allocates per value (145 ns a value on 20M short ids, five times its plain
 * trim), and the validate pass's generated code is near the size above which the JVM stops
 * compiling it. Every text column trimmed so made the pass at 10M events four to seven times
 * slower (a Java function, or a guard that skipped printable ASCII, alike); the user id alone
 * costs it 12.3 s to 15.2 s.
 */
public final class Trim {

  /** The characters trimmed from both ends of a text value. */
  public static final String CHARACTERS = characters();

  private Trim() {}

  private static String characters() {
    Pattern white = Pattern.compile("\\p{IsWhite_Space}");
    StringBuilder b = new StringBuilder();
    for (char c = 0; c < 0xFFFF; c++) {
      if (white.matcher(String.valueOf(c)).matches()) {
        b.append(c);
      }
    }
    // Every White_Space character is in the Basic Multilingual Plane.
    return b.append('\u200B').append('\uFEFF').toString();
  }

  /** {@code text} without {@link #CHARACTERS} at either end. */
  public static Column column(Column text) {
    // btrim, not trim(text, chars): the same expression, without Spark 4's warning on every run
    // that two-argument TRIM is deprecated.
    return functions.btrim(text.cast(DataTypes.StringType), functions.lit(CHARACTERS));
  }

  /** The same as Spark SQL over the expression {@code sql}. */
  public static String sql(String sql) {
    StringBuilder literal = new StringBuilder();
    for (char c : CHARACTERS.toCharArray()) {
      literal.append(String.format("\\u%04X", (int) c));
    }
    return "trim(BOTH '" + literal + "' FROM CAST(" + sql + " AS STRING))";
  }
}
