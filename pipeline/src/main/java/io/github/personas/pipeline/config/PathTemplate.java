package io.github.personas.pipeline.config;

import java.time.LocalDate;
import java.util.Objects;

/**
 * The {@code ${date}} placeholder of input paths: checked when the configuration loads, replaced
 * by the run date (YYYY-MM-DD) when a run starts.
 *
 * <p>{@code ${date}} is the only placeholder: a path with any other {@code ${...}} is refused
 * rather than read as a folder of that name, since a typo such as {@code ${ds}} would otherwise
 * surface, if at all, as "path does not exist" for every date of a backfill.
 */
public final class PathTemplate {

  /** The placeholder a run replaces with its date. */
  public static final String DATE = "${date}";

  private PathTemplate() {}

  /** True when {@code path} holds {@link #DATE}. */
  public static boolean isDated(String path) {
    return path != null && path.contains(DATE);
  }

  /** {@code path} with every {@link #DATE} replaced by {@code date}. */
  public static String resolve(String path, LocalDate date) {
    Objects.requireNonNull(date, "date");
    return path == null ? null : path.replace(DATE, date.toString());
  }

  /**
   * Refuses a placeholder other than {@link #DATE} in an input path.
   *
   * @param where the config key or command-line option the path came from, for the message
   * @throws ConfigException naming {@code where}, the path and the placeholder
   */
  public static void checkInput(String where, String path) {
    String other = otherPlaceholder(path == null ? "" : path.replace(DATE, ""));
    if (other != null) {
      throw ConfigException.of("%s = '%s' holds %s: the only placeholder of an input path is %s, the run date"
          + " (YYYY-MM-DD), e.g. '/data/events/dt=%s'.", where, path, other, DATE, DATE);
    }
  }

  /**
   * Refuses any placeholder in a path that is the same for every date (the output root, the
   * suppression list).
   *
   * @param where the config key or option
   * @param why   why the path takes no placeholder, one clause
   */
  public static void checkFixed(String where, String path, String why) {
    String any = otherPlaceholder(path == null ? "" : path);
    if (any != null) {
      throw ConfigException.of("%s = '%s' holds %s, but %s.", where, path, any, why);
    }
  }

  /** The first {@code ${...}} (or an unclosed {@code ${}) in {@code text}, or null. */
  private static String otherPlaceholder(String text) {
    int start = text.indexOf("${");
    if (start < 0) {
      return null;
    }
    int end = text.indexOf('}', start);
    return end < 0 ? text.substring(start) : text.substring(start, end + 1);
  }
}
